package views

import (
	"time"

	"swapdesk/internal/fields"
	"swapdesk/internal/urls"
)

// GalleryPage is the team gallery: its filters and one page of tiles.
type GalleryPage struct {
	Filter GalleryFilter
	// Members, Modes and Resolutions are the filter's choices.
	Members     []Option
	Modes       []Option
	Resolutions []Option
	// Errors holds a message per filter field ("q", "member", "from", …);
	// Message a message about the whole request (a bad page link).
	Errors  map[string]string
	Message string
	Tiles   []GalleryTile
	// NextURL is the page after this one ("" on the last): the "Next"
	// link without JavaScript, and the "load more" request with it.
	NextURL string
	// More is set when this is a following page (load more).
	More bool
	// Filtered is set when any filter or a search is applied.
	Filtered bool
	CSRF     string
}

// GalleryFilter is the filter form's values, as given.
type GalleryFilter struct {
	Q          string
	Sort       string // "" (best match) or "newest": a search's order
	Member     string
	Mode       string
	Resolution string
	From       string
	To         string
	Fav        bool
}

// GalleryTile is one result in the gallery.
type GalleryTile struct {
	ID         int64
	Length     string // "12 s"
	Resolution string
	Mode       string
	Owner      string
	CreatedAt  time.Time
	Relative   string // "3 h ago"
	Credits    string // "30 credits"
	Hidden     bool   // hidden from the team (only the owner and admins see it)
	Star       Star
}

// Star is a result's favorite button; it swaps itself when pressed.
type Star struct {
	JobID int64
	On    bool
	CSRF  string
}

// JobGallery is the job page's gallery panel for an archived result: its
// star, and for its owner or an admin, hide/show from the team gallery.
type JobGallery struct {
	JobID   int64
	Hidden  bool
	CanHide bool
	Star    Star
	CSRF    string
}

func (t GalleryTile) URL() string        { return urls.Job(t.ID) }
func (t GalleryTile) PosterURL() string  { return urls.MediaPoster(t.ID) }
func (t GalleryTile) PreviewURL() string { return urls.MediaPreview(t.ID) }
func (t GalleryTile) Label() string {
	return "Swap #" + i64(t.ID) + " by " + t.Owner + ", " + t.Length + ", " + t.Resolution + ", " + t.Mode
}

func (s Star) action() string { return urls.JobFavorite(s.JobID) }
func (s Star) label() string {
	if s.On {
		return "Remove the star from swap #" + i64(s.JobID)
	}
	return "Star swap #" + i64(s.JobID)
}

func (m GalleryPage) err(field string) string { return m.Errors[field] }

func (m GalleryPage) selected(field, value string) bool {
	switch field {
	case fields.Member:
		return m.Filter.Member == value
	case fields.Mode:
		return m.Filter.Mode == value
	case fields.Resolution:
		return m.Filter.Resolution == value
	}
	return false
}

func (m GalleryPage) problems() []string {
	var out []string
	for _, f := range []string{fields.Q, fields.Sort, fields.Member, fields.Mode, fields.Resolution, fields.From, fields.To, fields.Fav} {
		if msg := m.Errors[f]; msg != "" {
			out = append(out, msg)
		}
	}
	if m.Message != "" {
		out = append(out, m.Message)
	}
	return out
}

func (j JobGallery) hideValue() string {
	if j.Hidden {
		return "0"
	}
	return "1"
}
