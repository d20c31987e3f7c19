package views

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"swapdesk/internal/jobstatus"
	"swapdesk/internal/urls"
)

// JobForm is the New swap form: the member's values and inline errors.
type JobForm struct {
	// Notice warns about (or explains a block by) this month's allowance.
	Notice         AllowanceNotice
	ImageURL       string
	VideoURL       string
	Mode           string
	Resolution     string
	Duration       string
	Prompt         string
	IdempotencyKey string
	Errors         map[string]string
	Modes          []Option
	Resolutions    []Option
	// SampleLink is the "Use sample inputs" link (sandbox only), or "".
	SampleLink string
	Estimate   Estimate
	// Started is set when the form came back because its one-time token
	// already started a job: the message, with "Swap #N" as a link.
	Started StartedNotice
}

// StartedNotice is a message naming a job: Before, a link "Swap #JobID",
// After. JobID 0 means none.
type StartedNotice struct {
	Before string
	JobID  int64
	After  string
}

// Saving is the cheaper length the estimate offers (see pricing.SavingFor).
type Saving struct {
	Seconds string // "15"
	Credits int    // saved
	Over    string // how far into the last block the video runs: "0.4 s"
	// URL is the form prefilled with the shorter duration, for browsers
	// without JavaScript; static/app.js sets the duration field instead.
	URL string
}

// Option is one choice of a select or radio group.
type Option struct {
	Value       string
	Label       string
	Description string
}

// Estimate is the live estimate panel.
type Estimate struct {
	// Ready is true when a price is known.
	Ready        bool
	ImageURL     string // preview, shown when the image checked out
	ImageSummary string // "PNG, 256×256"
	VideoURL     string // preview, shown when the video checked out
	VideoSummary string // "4.0 s, 320×240, avc1"
	Detected     string // "4.0 s", or ""
	Billed       string // "4 s"
	Blocks       int
	Rate         int
	Resolution   string
	Credits      int
	Available    int64
	After        int64
	Short        bool // balance does not cover it
	// Saving is a cheaper length to offer, or nil.
	Saving   *Saving
	Problems []string
	// Fields carries the inline error for each field, swapped out-of-band
	// next to its input while the member types.
	Fields map[string]string
	// OOB is true when the panel is an htmx response that also updates the
	// inline field errors.
	OOB bool
	// Notice replaces the panel's content with a message (too many
	// estimates in a short time).
	Notice string
}

// JobPage is a job's page.
type JobPage struct {
	// Gallery is the panel of an archived result (star, hide), or nil.
	Gallery *JobGallery
	Job     JobView
	Result  JobResult
	Card    JobCard
	Ledger  []LedgerRow
	History []JobEventRow
	Shares  JobShares
}

// JobView is a job as members see it.
type JobView struct {
	ID              int64
	ImageURL        string
	VideoURL        string
	Mode            string
	Resolution      string
	Duration        string // requested, or "from the video"
	Billed          string
	EstimateCredits int64
	ChargedCredits  string // "" until settled
	Prompt          string
	Owner           string
	CreatedAt       time.Time
}

// LedgerRow is one ledger entry.
type LedgerRow struct {
	At     time.Time
	Kind   string
	Amount int64
}

// Signed formats a signed credit amount: "+30", "−20".
func (r LedgerRow) Signed() string {
	if r.Amount > 0 {
		return "+" + strconv.FormatInt(r.Amount, 10)
	}
	return strings.Replace(strconv.FormatInt(r.Amount, 10), "-", "−", 1)
}

func (f JobForm) err(field string) string { return f.Errors[field] }

func invalid(msg string) string {
	if msg == "" {
		return "false"
	}
	return "true"
}

func describedBy(field string, hint bool) string {
	s := field + "-error"
	if hint {
		s = field + "-hint " + s
	}
	return s
}

func dateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(dateTimeLayout)
}

// dateTimeLayout is dateTime's format.
const dateTimeLayout = "2 Jan 2006, 15:04 UTC"

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func itoa(n int) string  { return strconv.Itoa(n) }
func i64(n int64) string { return strconv.FormatInt(n, 10) }

func blocks(n int) string {
	if n == 1 {
		return "1 block of 5 s"
	}
	return strconv.Itoa(n) + " blocks of 5 s"
}

// JobCard is a job's live card. Cards that are not final poll
// /jobs/:id/card every 2 s and replace themselves; cards of results being
// archived poll every 10 s.
type JobCard struct {
	ID      int64
	Status  jobstatus.Status // its label and badge come with it
	Summary string           // "720p · animate · 12 s"
	Elapsed string           // "1 min 20 s" running, or how long it took
	Final   bool
	// JustFinished is set when a poll finds the job final: the card says so.
	JustFinished bool
	// Archiving is set while a succeeded job's result is being copied to
	// the gallery: the card keeps polling slowly until PlayURL is ours.
	Archiving bool
	// Own is set on the signed-in person's own jobs: the page title counts
	// those still running (static/app.js).
	Own     bool
	Credits string // "30 credits held" / "30 credits charged" / "nothing charged"
	Error   string
	// Refund says what became of a failed job's hold ("The 30 credits
	// held for it were returned; nothing was charged.").
	Refund string
	// PlayURL is our archived copy (/media/:id), or Akool's URL until then.
	PlayURL string
	// PosterURL (full cards only: lists show no player) is the player's
	// still before it plays: the job's
	// character image for now (an http(s) URL, allowed by the CSP's
	// img-src), or "".
	PosterURL string
	// ThumbURL is a finished result's poster (/media/:id/poster), shown
	// small on the jobs list and the dashboard; "" for others.
	ThumbURL string
	// ExpiresIn is shown on Akool's URL before it is archived ("in 6 days").
	ExpiresIn   string
	ArchiveNote string // "Archiving…", "Akool's copy expired before it was archived"
	Owner       string // shown to admins on others' jobs
	Full        bool   // the job page's card: player and actions
	CanDelete   bool
	RerunURL    string
	DownloadURL string
	CSRF        string // for the delete form (full cards only)
}

// jobStatusBadge is a job state's badge: <span class="{Badge}"
// role="status">{Label}</span>. It is written directly because templ's
// class={ } processing was a measurable part of rendering a list of cards.
func jobStatusBadge(s jobstatus.Status) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<span class="`+templ.EscapeString(s.Badge())+`" role="status">`+
			templ.EscapeString(s.Label())+`</span>`)
		return err
	})
}

// PollURL is the card's refresh URL.
func (c JobCard) PollURL() string {
	return urls.JobCard(c.ID, c.Full)
}

// JobsPage is the jobs list.
type JobsPage struct {
	Cards []JobCard
	// NextURL is the next (older) page, or "".
	NextURL string
	// Members is the admin's member filter; empty for members.
	Members  []Option
	MemberID string
	Admin    bool
}

// JobEventRow is one line of a job's history.
type JobEventRow struct {
	At     time.Time
	Label  string
	Detail string
	// Tech is a detail for admins only (an archived file's size and
	// checksum), shown small and wrapped under the line; "" for members.
	Tech string
}

// titlePrefix is the running-jobs count in front of the page title: "(2) ".
func titlePrefix(running int) string {
	if running <= 0 {
		return ""
	}
	return "(" + strconv.Itoa(running) + ") "
}
