package views

import "time"

// JobShares is the share links section of a job page.
type JobShares struct {
	JobID int64
	// CanCreate is true for an archived result: the form to make a link.
	CanCreate bool
	// Days is the lifetime field's value; Error its message (422).
	Days  string
	Error string
	// MaxDays bounds the field.
	MaxDays int
	Links   []ShareLink
}

// ShareLink is one link of a job, as listed on its page (its token is
// never kept, so never shown again).
type ShareLink struct {
	ID        int64
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero unless revoked
	Active    bool
}

// SharePage is the public page of a share link.
type SharePage struct {
	Title       string // "Swap #42"
	VideoURL    string
	PosterURL   string // "" when the result has no poster or kept image
	DownloadURL string
	FileName    string
	ExpiresAt   time.Time
}

// SelectionFormID is the id of the gallery's zip form; SelectBox
// checkboxes name it in their form attribute, so they may sit anywhere on
// the page (inside tiles that hold forms of their own).
const SelectionFormID = "gallery-zip"

// SelectionMax is how many results one zip may hold (the server refuses
// more; the script says so before sending).
const SelectionMax = 500
