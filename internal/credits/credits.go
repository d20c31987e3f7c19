// Package credits is the one place Swapdesk's credit rules live: who may be
// given or have taken back how many credits (validated and audited, whoever
// asks: the command line, the admin pages, the API), what a finished job is
// charged, and the team's totals and spend over time.
//
// The ledger itself is db's (db/ledger.go): append-only lines written in
// transactions that also keep one balance row per member, so a balance is
// one lookup. A hold is written, with its job, only if the member's
// available balance stays >= 0 (db.DB.CreateJobWithHold); this package
// decides everything else and db stores it.
package credits

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// MaxChange bounds one grant or adjustment either way, so a typo cannot
// mint (or wipe out) millions of credits.
const MaxChange = 1_000_000

// MaxNoteRunes bounds a grant's or an adjustment's note.
const MaxNoteRunes = 500

// Field names of a credit change, as forms name them (DESIGN.md: admin
// `POST /admin/users/:id/credits` with `amount` and `note`).
const (
	FieldAmount = fields.Amount
	FieldNote   = fields.Note
)

// Store is what the service needs from the database.
type Store interface {
	UserByID(ctx context.Context, id int64) (db.User, error)
	UserByEmail(ctx context.Context, email string) (db.User, error)
	AddCredits(ctx context.Context, c db.CreditChange) (db.LedgerEntry, db.Balance, error)
	Balance(ctx context.Context, userID int64) (db.Balance, error)
	TeamTotals(ctx context.Context, since time.Time) (db.TeamTotals, error)
	MemberBalances(ctx context.Context, from, to time.Time) ([]db.MemberBalance, error)
	SpendByRange(ctx context.Context, edges []time.Time, by string) ([]db.RangeSpend, error)
	SpendByRangeTop(ctx context.Context, edges []time.Time, n int) ([]db.RangeSpend, error)
}

// Service applies the credit rules. Its methods are safe for concurrent
// use.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns a Service over store; now is its clock (time.Now when nil).
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Change is a grant or an adjustment someone asked for.
type Change struct {
	ActorID int64 // who asks; 0 for the command line
	// MemberID names the member; when 0, MemberEmail does.
	MemberID    int64
	MemberEmail string
	Amount      int64
	Note        string
	IP          string // the asker's address, for the audit log; "" for the command line
}

// Result is what a grant or adjustment wrote.
type Result struct {
	Member db.User
	Entry  db.LedgerEntry
	// Balance is the member's balance right after the change.
	Balance db.Balance
}

// Grant gives a member Amount credits: a whole number from 1 to MaxChange.
// The ledger line and its audit entry are written together. Errors:
// *apperr.Invalid (fields FieldAmount, FieldNote) for a bad amount or note,
// with nothing looked up or written; apperr.ErrNotFound for an unknown
// member.
func (s *Service) Grant(ctx context.Context, c Change) (Result, error) {
	fe := apperr.FieldErrors{}
	if c.Amount < 1 || c.Amount > MaxChange {
		fe.Add(FieldAmount, fmt.Sprintf("Enter a whole number of credits from 1 to %s.", thousands(MaxChange)))
	}
	checkNote(fe, c.Note)
	if err := apperr.Fields(fe); err != nil {
		return Result{}, err
	}
	return s.write(ctx, c, db.LedgerGrant, db.AuditCreditsGrant)
}

// Adjust adds (Amount > 0) or takes back (Amount < 0) credits: at most
// MaxChange either way, never 0, and never taking the member's available
// balance below zero, that is below what their unsettled jobs hold. The
// check and the write happen in one transaction, so a hold made meanwhile
// cannot be overdrawn. Errors: *apperr.Invalid for a bad amount or note, or
// for taking back more than is available (field FieldAmount, naming the
// most that can be taken back); apperr.ErrNotFound for an unknown member.
func (s *Service) Adjust(ctx context.Context, c Change) (Result, error) {
	fe := apperr.FieldErrors{}
	if c.Amount == 0 || c.Amount < -MaxChange || c.Amount > MaxChange {
		fe.Add(FieldAmount, fmt.Sprintf("Enter a whole number of credits from -%s to %s, other than 0.",
			thousands(MaxChange), thousands(MaxChange)))
	}
	checkNote(fe, c.Note)
	if err := apperr.Fields(fe); err != nil {
		return Result{}, err
	}
	res, err := s.write(ctx, c, db.LedgerAdjust, db.AuditCreditsAdjust)
	var short *apperr.InsufficientCredits
	if errors.As(err, &short) {
		most := max(short.Available, 0)
		return Result{}, apperr.Fields(apperr.FieldErrors{FieldAmount: fmt.Sprintf(
			"At most %s credits can be taken back: the rest is held for running jobs or already spent.", thousands(most))})
	}
	return res, err
}

func (s *Service) write(ctx context.Context, c Change, kind, action string) (Result, error) {
	member, err := s.member(ctx, c)
	if err != nil {
		return Result{}, err
	}
	note := strings.TrimSpace(c.Note)
	e, bal, err := s.store.AddCredits(ctx, db.CreditChange{
		UserID: member.ID, ActorID: c.ActorID, Kind: kind, Amount: c.Amount, Note: note,
		Audit: db.AuditEntry{ActorID: c.ActorID, Action: action, Subject: member.Email, IP: c.IP,
			Detail: fmt.Sprintf("member=%d amount=%+d note=%q", member.ID, c.Amount, note)},
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Member: member, Entry: e, Balance: bal}, nil
}

func (s *Service) member(ctx context.Context, c Change) (db.User, error) {
	if c.MemberID != 0 {
		return s.store.UserByID(ctx, c.MemberID)
	}
	email := strings.ToLower(strings.TrimSpace(c.MemberEmail))
	if email == "" {
		return db.User{}, fmt.Errorf("credits: no member named: %w", apperr.ErrNotFound)
	}
	return s.store.UserByEmail(ctx, email)
}

func checkNote(fe apperr.FieldErrors, note string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(note)); {
	case !utf8.ValidString(note):
		fe.Add(FieldNote, "The note contains characters that are not text.")
	case n > MaxNoteRunes:
		fe.Add(FieldNote, fmt.Sprintf("Shorten the note to at most %d characters (it has %s).", MaxNoteRunes, thousands(int64(n))))
	}
}

// ParseAmount reads an amount of credits as a person typed it: a whole
// number with an optional sign, surrounding space ignored. Anything else (a
// fraction, an exponent, a number too large) is an *apperr.Invalid for
// FieldAmount; the range is Grant's and Adjust's to check.
func ParseAmount(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, apperr.Fields(apperr.FieldErrors{FieldAmount: fmt.Sprintf("At most %s credits at once.", thousands(MaxChange))})
	case err != nil:
		return 0, apperr.Fields(apperr.FieldErrors{FieldAmount: "Enter a whole number of credits, such as 50 or -20."})
	}
	return n, nil
}

// Balance returns a member's balance (one lookup of their balance row).
func (s *Service) Balance(ctx context.Context, memberID int64) (db.Balance, error) {
	return s.store.Balance(ctx, memberID)
}

// thousands writes n with commas: 1,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
