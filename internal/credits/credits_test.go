package credits_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
)

var start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// env is a migrated store in a temp dir with a settable clock.
type env struct {
	t     testing.TB
	store *db.DB
	now   time.Time
	svc   *credits.Service
	n     int
}

func newEnv(t testing.TB) *env {
	t.Helper()
	store := dbtest.Open(t)
	e := &env{t: t, store: store, now: start}
	store.Now = func() time.Time { return e.now }
	e.svc = credits.New(store, store.Now)
	return e
}

func (e *env) member(email string) db.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), email, strings.Split(email, "@")[0], db.RoleMember, "x")
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) balance(id int64) db.Balance {
	e.t.Helper()
	b, err := e.store.Balance(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// hold writes a job for userID holding estimate, as a submit does.
func (e *env) hold(userID, estimate int64, resolution string) (db.Job, error) {
	e.n++
	j, _, err := e.store.CreateJobWithHold(context.Background(), db.NewJob{UserID: userID,
		IdempotencyKey: fmt.Sprintf("credits-test-key-%06d", e.n), ImageURL: "https://example.com/a.png",
		VideoURL: "https://example.com/b.mp4", Mode: "animate", Resolution: resolution, BilledSeconds: 10,
		EstimateCredits: estimate})
	return j, err
}

// finish submits job to Akool and settles it by the rule.
func (e *env) finish(j db.Job, o credits.Outcome) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.store.MarkSubmitted(ctx, j.ID, fmt.Sprintf("akool-%d", j.ID), db.JobQueued, e.now); err != nil {
		e.t.Fatal(err)
	}
	u := db.Update{Status: db.JobFailed, Source: db.SourcePoll, FailReason: "failed"}
	if o.Succeeded {
		u = db.Update{Status: db.JobSucceeded, Source: db.SourcePoll, ExpiresAt: e.now.Add(time.Hour)}
	}
	o.Estimate = j.EstimateCredits
	credits.Settle(o).Apply(&u)
	if _, applied, err := e.store.ApplyUpdate(ctx, j.ID, u); err != nil || !applied {
		e.t.Fatalf("settle job %d: applied %v, %v", j.ID, applied, err)
	}
}

func fieldErr(err error, field string) string {
	var inv *apperr.Invalid
	if errors.As(err, &inv) {
		return inv.Fields[field]
	}
	return ""
}

func TestGrantValidatesBeforeWriting(t *testing.T) {
	e := newEnv(t)
	ana := e.member("ana@example.com")
	ctx := context.Background()
	tests := []struct {
		name  string
		c     credits.Change
		field string
	}{
		{"zero", credits.Change{MemberID: ana.ID, Amount: 0}, credits.FieldAmount},
		{"negative", credits.Change{MemberID: ana.ID, Amount: -5}, credits.FieldAmount},
		{"over a million", credits.Change{MemberID: ana.ID, Amount: credits.MaxChange + 1}, credits.FieldAmount},
		{"long note", credits.Change{MemberID: ana.ID, Amount: 5, Note: strings.Repeat("é", credits.MaxNoteRunes+1)}, credits.FieldNote},
		{"note not text", credits.Change{MemberID: ana.ID, Amount: 5, Note: "\xff"}, credits.FieldNote},
		// Checked before the member is looked up: the amount is what is wrong.
		{"unknown member, bad amount", credits.Change{MemberID: 999, Amount: 0}, credits.FieldAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Grant(ctx, tt.c)
			if fieldErr(err, tt.field) == "" {
				t.Errorf("err = %v, want a message for %s", err, tt.field)
			}
		})
	}
	if _, err := e.svc.Grant(ctx, credits.Change{MemberID: 999, Amount: 5}); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unknown member: %v, want ErrNotFound", err)
	}
	if _, err := e.svc.Grant(ctx, credits.Change{MemberEmail: "ghost@example.com", Amount: 5}); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unknown email: %v, want ErrNotFound", err)
	}
	if l, _ := e.store.LedgerForUser(ctx, ana.ID, 10); len(l) != 0 {
		t.Errorf("refused grants wrote %d ledger lines", len(l))
	}
	if a, _ := e.store.RecentAudit(ctx, 10); len(a) != 0 {
		t.Errorf("refused grants wrote %d audit entries", len(a))
	}
}

func TestGrantIsAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.store.CreateUser(ctx, "boss@example.com", "Boss", db.RoleAdmin, "x")
	if err != nil {
		t.Fatal(err)
	}
	e.member("ana@example.com")
	res, err := e.svc.Grant(ctx, credits.Change{ActorID: admin.ID, MemberEmail: " Ana@Example.com ", Amount: credits.MaxChange,
		Note: " welcome ", IP: "203.0.113.7"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Balance.Available != credits.MaxChange || res.Entry.Kind != db.LedgerGrant || res.Entry.ActorID != admin.ID || res.Entry.Note != "welcome" {
		t.Errorf("result %+v", res)
	}
	got, _ := e.store.RecentAudit(ctx, 10)
	if len(got) != 1 {
		t.Fatalf("%d audit entries, want 1", len(got))
	}
	a := got[0]
	if a.Action != db.AuditCreditsGrant || a.ActorID != admin.ID || a.Subject != "ana@example.com" || a.IP != "203.0.113.7" ||
		!strings.Contains(a.Detail, "amount=+1000000") || !strings.Contains(a.Detail, `note="welcome"`) {
		t.Errorf("audit entry %+v", a)
	}
}

func TestAdjustNeverTakesAvailableBelowZero(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ana := e.member("ana@example.com")
	if _, err := e.svc.Grant(ctx, credits.Change{MemberID: ana.ID, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.hold(ana.ID, 30, "720p"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int64{0, -credits.MaxChange - 1, credits.MaxChange + 1} {
		if _, err := e.svc.Adjust(ctx, credits.Change{MemberID: ana.ID, Amount: bad}); fieldErr(err, credits.FieldAmount) == "" {
			t.Errorf("adjust %d: %v, want a message for amount", bad, err)
		}
	}
	_, err := e.svc.Adjust(ctx, credits.Change{MemberID: ana.ID, Amount: -71})
	if msg := fieldErr(err, credits.FieldAmount); !strings.Contains(msg, "At most 70 credits") {
		t.Errorf("taking back 71 of 70 available: %v", err)
	}
	res, err := e.svc.Adjust(ctx, credits.Change{MemberID: ana.ID, Amount: -70, Note: "back"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (db.Balance{Granted: 30, Held: 30, Available: 0}); res.Balance != want {
		t.Errorf("balance %+v, want %+v", res.Balance, want)
	}
	if a, _ := e.store.RecentAudit(ctx, 10); len(a) != 2 || a[0].Action != db.AuditCreditsAdjust || !strings.Contains(a[0].Detail, "amount=-70") {
		t.Errorf("audit %+v, want the grant and the adjustment", a)
	}
	if _, err := e.svc.Adjust(ctx, credits.Change{MemberID: ana.ID, Amount: 5}); err != nil {
		t.Errorf("adding with an adjustment: %v", err)
	}
}

func TestParseAmount(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"50", 50, true}, {" -20 ", -20, true}, {"+7", 7, true}, {"1000001", 1000001, true},
		{"1.5", 0, false}, {"1e3", 0, false}, {"", 0, false}, {"ten", 0, false}, {"1,000", 0, false},
		{"99999999999999999999", 0, false},
	} {
		got, err := credits.ParseAmount(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && fieldErr(err, credits.FieldAmount) == "" {
			t.Errorf("ParseAmount(%q): %v is not a message for amount", tt.in, err)
		}
	}
}

func TestSettle(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		name       string
		o          credits.Outcome
		charge     int64
		detailHas  string
		releaseHas string
	}{
		{"Akool's figure", credits.Outcome{Succeeded: true, Estimate: 30, Reported: n(20)}, 20, "charged 20 credits", "finished"},
		{"above the estimate", credits.Outcome{Succeeded: true, Estimate: 30, Reported: n(45)}, 45, "more than the estimate of 30", "finished"},
		{"reported zero", credits.Outcome{Succeeded: true, Estimate: 30, Reported: n(0)}, 0, "charged 0 credits", "finished"},
		{"none reported", credits.Outcome{Succeeded: true, Estimate: 30}, 30, "charged 30 credits", "finished"},
		{"negative report", credits.Outcome{Succeeded: true, Estimate: 30, Reported: n(-1)}, 30, "charged 30", "finished"},
		{"failed", credits.Outcome{Estimate: 30, Reported: n(30)}, 0, "", "nothing charged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := credits.Settle(tt.o)
			if s.Charge != tt.charge || !strings.Contains(s.Detail, tt.detailHas) || !strings.Contains(s.ReleaseNote, tt.releaseHas) {
				t.Errorf("got %+v; want charge %d, detail with %q, release note with %q", s, tt.charge, tt.detailHas, tt.releaseHas)
			}
			var u db.Update
			s.Apply(&u)
			if u.Charged == nil || *u.Charged != tt.charge {
				t.Errorf("applied charge %v, want %d", u.Charged, tt.charge)
			}
		})
	}
}

// Holds and take-backs racing for one balance never overdraw it: each is
// checked in the transaction that writes it.
func TestConcurrentHoldsAndTakeBacksNeverOverdraw(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ana := e.member("ana@example.com")
	if _, err := e.svc.Grant(ctx, credits.Change{MemberID: ana.ID, Amount: 200}); err != nil {
		t.Fatal(err)
	}
	jobs := make([]db.NewJob, 25)
	for i := range jobs {
		jobs[i] = db.NewJob{UserID: ana.ID, IdempotencyKey: fmt.Sprintf("race-key-%08d", i), ImageURL: "https://example.com/a.png",
			VideoURL: "https://example.com/b.mp4", Mode: "animate", Resolution: "720p", BilledSeconds: 10, EstimateCredits: 20}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	held, taken, refused := 0, 0, 0
	var other []error
	count := func(err error, ok *int) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			*ok++
		case errors.Is(err, apperr.ErrInsufficientCredits) || fieldErr(err, credits.FieldAmount) != "":
			refused++
		default:
			other = append(other, err)
		}
	}
	for i := range jobs {
		wg.Go(func() {
			_, _, err := e.store.CreateJobWithHold(ctx, jobs[i])
			count(err, &held)
		})
		wg.Go(func() {
			_, err := e.svc.Adjust(ctx, credits.Change{MemberID: ana.ID, Amount: -20})
			count(err, &taken)
		})
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	b := e.balance(ana.ID)
	if held+taken != 10 || refused != 40 || b.Available != 0 || b.Held != int64(20*held) {
		t.Errorf("%d holds, %d take-backs, %d refused, balance %+v; want 10 in all, 40 refused, available 0", held, taken, refused, b)
	}
	if bad, err := e.store.CheckBalances(ctx); err != nil || len(bad) != 0 {
		t.Errorf("balance rows differ from the ledger: %+v, %v", bad, err)
	}
}
