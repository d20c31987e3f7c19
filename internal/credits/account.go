package credits

import (
	"context"
	"sync"
	"time"
)

// AccountCacheTTL is how long the Akool account's balance is reused.
const AccountCacheTTL = time.Minute

// AccountBalance caches the Akool account's balance (Akool's
// GET /api/open/v3/faceswap/quota/info) for AccountCacheTTL: many admins
// opening the overview cost Akool one call a minute, and concurrent
// misses share one call (single flight). Failures are cached too, for
// failTTL, so an Akool outage is not hammered by every page view.
type AccountBalance struct {
	fetch   func(ctx context.Context) (float64, error)
	now     func() time.Time
	ttl     time.Duration
	failTTL time.Duration

	mu       sync.Mutex
	credit   float64
	err      error
	at       time.Time // when credit/err was fetched; zero: never
	inflight chan struct{}
}

// AccountFailTTL is how long a failed balance fetch is remembered.
const AccountFailTTL = 10 * time.Second

// NewAccountBalance returns a cache over fetch (the Akool client's Quota);
// now is its clock (time.Now when nil).
func NewAccountBalance(fetch func(ctx context.Context) (float64, error), now func() time.Time) *AccountBalance {
	if now == nil {
		now = time.Now
	}
	return &AccountBalance{fetch: fetch, now: now, ttl: AccountCacheTTL, failTTL: AccountFailTTL}
}

// Account is the Akool account's balance as last fetched.
type Account struct {
	Credit    float64
	FetchedAt time.Time
}

// Get returns the cached balance, fetching it when older than the TTL.
// The fetch runs on its own (bounded by fetchTimeout), so a caller whose
// ctx ends first stops waiting without cancelling it: the others waiting,
// and the next page view, get its answer.
func (a *AccountBalance) Get(ctx context.Context) (Account, error) {
	for {
		a.mu.Lock()
		if !a.at.IsZero() {
			ttl := a.ttl
			if a.err != nil {
				ttl = a.failTTL
			}
			if a.now().Sub(a.at) < ttl {
				acct, err := Account{Credit: a.credit, FetchedAt: a.at}, a.err
				a.mu.Unlock()
				return acct, err
			}
		}
		wait := a.inflight
		if wait == nil {
			wait = make(chan struct{})
			a.inflight = wait
			go a.refresh(context.WithoutCancel(ctx), wait)
		}
		a.mu.Unlock()
		select {
		case <-wait:
			a.mu.Lock()
			acct, err := Account{Credit: a.credit, FetchedAt: a.at}, a.err
			a.mu.Unlock()
			return acct, err
		case <-ctx.Done():
			return Account{}, ctx.Err()
		}
	}
}

// fetchTimeout bounds one fetch of the balance.
const fetchTimeout = 30 * time.Second

func (a *AccountBalance) refresh(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	credit, err := a.fetch(ctx)
	a.mu.Lock()
	a.credit, a.err, a.at, a.inflight = credit, err, a.now(), nil
	a.mu.Unlock()
	close(done)
}

// Reconciliation sets what members may still spend against what the
// Akool account holds.
type Reconciliation struct {
	Promised  int64   // members' available + held: what they can still spend
	Account   float64 // the Akool account's balance
	Shortfall float64 // Promised - Account when positive, else 0
}

// Over reports whether members could spend more than the account holds.
func (r Reconciliation) Over() bool { return r.Shortfall > 0 }

// Reconcile compares the team's totals with the Akool account's balance.
func Reconcile(t Totals, account float64) Reconciliation {
	r := Reconciliation{Promised: t.Available + t.Held, Account: account}
	if d := float64(r.Promised) - account; d > 0 {
		r.Shortfall = d
	}
	return r
}

// ProjectMonth projects the month's spend to its end at the pace so far:
// spent / elapsed × the month's length, both in loc's calendar (so a DST
// month is counted in its real hours). Before any time has passed it
// returns spent.
func ProjectMonth(spent int64, now time.Time, loc *time.Location) int64 {
	start := MonthStart(now, loc)
	end := start.AddDate(0, 1, 0)
	elapsed := now.Sub(start)
	if elapsed <= 0 || spent <= 0 {
		return spent
	}
	return int64(float64(spent) * float64(end.Sub(start)) / float64(elapsed))
}
