package accounts

import (
	"context"
	"time"

	"swapdesk/db"
)

// Login rate limits, each in a fixed 15-minute window. An account and
// address pair gets few failures, so an attacker at one address cannot
// guess much and cannot lock the owner out from another address. Only a
// guess spread over many addresses meets the per-account limit, set much
// higher, and an admin can clear that (Unlock). Each address also has its
// own limit across accounts.
const (
	accountIPFailures = 5
	accountFailures   = 50
	ipFailures        = 20
	limitWindow       = 15 * time.Minute
)

// The keys of the counts in the store.
func ipKey(ip string) string               { return "ip:" + ip }
func accountKey(email string) string       { return "account:" + email }
func accountIPKey(email, ip string) string { return "account+ip:" + ip + " " + email }

// loginLimits are the counts an attempt from ip is taken from; with no
// email, the address's alone (the email cannot be an account's).
func loginLimits(email, ip string) []db.LoginLimit {
	limits := []db.LoginLimit{{Key: ipKey(ip), Max: ipFailures}}
	if email == "" {
		return limits
	}
	return append(limits,
		db.LoginLimit{Key: accountIPKey(email, ip), Account: email, Max: accountIPFailures},
		db.LoginLimit{Key: accountKey(email), Account: email, Max: accountFailures})
}

// giveBack uncounts an attempt that turned out not to count (a success, or
// one never evaluated). A failure to do so is logged: it can only make a
// limit stricter than it should be, never looser.
func (s *Service) giveBack(ctx context.Context, t db.LoginTicket) {
	if err := s.store.GiveBackLoginAttempt(context.WithoutCancel(ctx), t); err != nil {
		s.log.Error("give back a sign-in attempt", "err", err)
	}
}
