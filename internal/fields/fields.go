// Package fields names the fields of Swapdesk's HTML forms, once: the
// handlers read them, the views render them, the services key their field
// errors by them and the tests post them.
package fields

// The New swap form (DESIGN.md "job form fields").
const (
	ImageURL   = "image_url"
	VideoURL   = "video_url"
	Mode       = "mode"
	Resolution = "resolution"
	Duration   = "duration"
	Prompt     = "prompt"
	// Idem is the form's one-time token: a resubmitted form finds the job
	// it started.
	Idem = "idem"
	// Sample asks the sandbox's New swap form for its sample inputs ("1").
	Sample = "sample"
)

// Job lists the job form's fields in the order the form shows them.
var Job = []string{ImageURL, VideoURL, Mode, Resolution, Duration, Prompt}

// The sign-in form.
const (
	Email    = "email"
	Password = "password"
	// Next is where to go after signing in (a local path).
	Next = "next"
)

// CSRF is the hidden field that carries the session's CSRF token on every
// unsafe form; htmx sends the same token in the CSRFHeader header instead.
const (
	CSRF       = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// Query parameters of the jobs list and the job card.
const (
	Before   = "before"   // keyset cursor: jobs with a smaller id
	Member   = "member"   // admin's member filter
	Full     = "full"     // "1": the job page's card
	Download = "download" // "1": serve /media/:id as an attachment
)

// The gallery's zip selection and share links.
const (
	SelectID  = "id"   // repeated: the results selected for a zip
	ShareDays = "days" // how many days a share link lasts
)

// The members pages and /account (DESIGN.md "admin" and "account").
const (
	Name     = "name"
	Role     = "role"
	Access   = "access"    // how a new member gets in: AccessPassword or AccessLink
	Amount   = "amount"    // credits granted (> 0) or taken back (< 0)
	Note     = "note"      // a credit change's note
	Monthly  = "monthly"   // a monthly allowance; 0 = none
	Current  = "current"   // one's current password
	New      = "new"       // a new password
	TimeZone = "time_zone" // an IANA time zone name; "" = the team's
	Sort     = "sort"      // the members list's sort key
	Dir      = "dir"       // "desc" sorts descending
)

// Values of Access.
const (
	AccessPassword = "password"
	AccessLink     = "link"
)

// The team gallery's query (Member, Mode and Resolution above are shared)
// and its star and hide forms.
const (
	Q        = "q"        // prompt search
	From     = "from"     // YYYY-MM-DD, UTC
	To       = "to"       // YYYY-MM-DD, UTC, the whole day
	Fav      = "fav"      // "1": starred only
	Cursor   = "cursor"   // opaque, signed page cursor
	Favorite = "favorite" // "1" star, "0" take the star away
	Hidden   = "hidden"   // "1" hide from the team gallery, "0" show
)

// The admin credit overview, its ledger filters (shared by the CSV
// export), the audit log's filters. From and To (above, the gallery's)
// are days in the team's time zone there.
const (
	Days = "days" // the chart's period: "30" or "90"
	By   = "by"   // the chart's stacking: "resolution" or "member"
	Kind = "kind" // a ledger kind
	Who  = "who"  // the audit log's actor (a user id)
	What = "what" // the audit log's action
)

// The personal API tokens form at /account/tokens (Name above is shared).
const (
	Scopes    = "scopes" // repeated: the token's scopes
	TokenDays = "days"   // the token's life in days, 1 to 365
)
