package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"swapdesk/db"
)

// A script's batch: one motion video across ten characters, submitted
// with idempotency keys through a flaky network (half the answers are
// lost and the request sent again, some of the resends racing the first
// send), over the member's limits (429s are waited out as Retry-After
// says), then each job polled to its end with Prefer: wait. Exactly ten
// jobs, ten holds, ten charges; the balance is the ledger's sum.
func TestAPIBatchWithRetries(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 1000)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	const n = 10

	var clockMu sync.Mutex
	var retried429 int
	// send posts one character's job until it gets an answer other than
	// 429, waiting out each Retry-After on the test clock.
	send := func(i int) (int64, int, error) {
		body := app.apiBody()
		body["image_url"] = app.media.url("/character.png?n=" + strconv.Itoa(i))
		body["prompt"] = fmt.Sprintf("character %d", i)
		for attempt := 0; attempt < 50; attempt++ {
			res, err := c.try(req{method: http.MethodPost, path: "/api/v1/jobs", body: body,
				header: []string{"Idempotency-Key", fmt.Sprintf("batch-2026-12-01/char-%02d", i)}})
			if err != nil {
				return 0, 0, err
			}
			if res.StatusCode == http.StatusTooManyRequests {
				wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
				clockMu.Lock()
				retried429++
				app.clock.Advance(time.Duration(wait) * time.Second)
				clockMu.Unlock()
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
				return 0, res.StatusCode, fmt.Errorf("character %d: %d %s", i, res.StatusCode, res.body)
			}
			var j apiJobView
			if err := jsonUnmarshal(res.body, &j); err != nil {
				return 0, 0, err
			}
			return j.ID, res.StatusCode, nil
		}
		return 0, 0, fmt.Errorf("character %d: still refused after 50 tries", i)
	}

	ids := make([][]int64, n)
	codes := make([][]int, n)
	errs := make(chan error, 3*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			record := func(id int64, code int, err error) {
				if err != nil {
					errs <- err
					return
				}
				ids[i] = append(ids[i], id)
				codes[i] = append(codes[i], code)
			}
			switch {
			case i%2 == 1: // a good network: one send
				record(send(i))
			case i < 4: // the answer was lost and the resend races the first send
				var mu sync.Mutex
				var inner sync.WaitGroup
				for range 2 {
					inner.Go(func() {
						id, code, err := send(i)
						mu.Lock()
						defer mu.Unlock()
						record(id, code, err)
					})
				}
				inner.Wait()
			default: // the answer was lost; sent again after it
				_, _, err := send(i)
				if err != nil {
					errs <- err
					return
				}
				record(send(i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	jobIDs := map[int64]bool{}
	for i := range n {
		for _, id := range ids[i] {
			if id != ids[i][0] {
				t.Fatalf("character %d: jobs %v for one key", i, ids[i])
			}
		}
		created := 0
		for _, code := range codes[i] {
			if code == http.StatusCreated {
				created++
			}
		}
		if i%2 == 1 || i < 4 {
			if created != 1 {
				t.Errorf("character %d: answers %v, want exactly one 201", i, codes[i])
			}
		} else if len(codes[i]) != 1 || codes[i][0] != http.StatusOK {
			t.Errorf("character %d: the resend answered %v, want 200", i, codes[i])
		}
		jobIDs[ids[i][0]] = true
	}
	if len(jobIDs) != n {
		t.Fatalf("%d distinct jobs, want %d", len(jobIDs), n)
	}
	t.Logf("429s waited out: %d", retried429)

	// Poll each to its end with Prefer: wait while Akool works and the
	// archiver keeps the results (as serve's loops would: a wait ends when
	// the job is final and archived, not at its 10 s deadline).
	stop := make(chan struct{})
	var driver sync.WaitGroup
	driver.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			clockMu.Lock()
			app.clock.Advance(5 * time.Second)
			clockMu.Unlock()
			app.sim.Step()
			app.tracker.PollDue(context.Background())
			app.archiver.ArchiveDue(context.Background())
		}
	})
	final := make(chan string, n)
	for id := range jobIDs {
		wg.Go(func() {
			path := "/api/v1/jobs/" + strconv.FormatInt(id, 10)
			for polls := 0; polls < 20; polls++ {
				res, err := c.try(req{method: http.MethodGet, path: path, header: []string{"Prefer", "wait=10"}})
				if err != nil {
					final <- err.Error()
					return
				}
				var j apiJobView
				if err := jsonUnmarshal(res.body, &j); err != nil {
					final <- err.Error()
					return
				}
				if db.JobStatus(j.Status).Final() {
					final <- j.Status
					return
				}
			}
			final <- "not final after 20 polls"
		})
	}
	wg.Wait()
	close(stop)
	driver.Wait()
	close(final)
	for st := range final {
		if st != string(db.JobSucceeded) {
			t.Errorf("a job ended %q", st)
		}
	}

	// Exactly ten jobs, ten holds, ten charges; balance = ledger sum.
	ctx := context.Background()
	list, err := app.store.JobsByStatus(ctx, db.StatusJobQuery{UserID: u.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Errorf("%d jobs, want %d", len(list), n)
	}
	ledger, err := app.store.LedgerForUser(ctx, u.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	var sum int64
	for _, e := range ledger {
		kinds[e.Kind]++
		sum += e.Amount
	}
	if kinds[db.LedgerCharge] != n || kinds[db.LedgerHold] != n {
		t.Errorf("ledger kinds %v, want %d holds and %d charges", kinds, n, n)
	}
	for _, j := range list {
		if got := app.ledgerKinds(j.ID); got != "hold:-30,release:30,charge:-30" {
			t.Errorf("job %d ledger %q", j.ID, got)
		}
	}
	bal := app.balance(u.ID)
	if bal.Available != sum || bal.Available != 1000-n*30 || bal.Held != 0 {
		t.Errorf("balance %+v, ledger sum %d, want %d available", bal, sum, 1000-n*30)
	}
	if bad, err := app.store.CheckBalances(ctx); err != nil || len(bad) != 0 {
		t.Errorf("balance rows differ from the ledger: %+v, %v", bad, err)
	}
	if got := len(app.sim.Jobs()); got != n {
		t.Errorf("Akool got %d jobs, want %d", got, n)
	}
}
