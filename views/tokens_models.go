package views

import "time"

// Token states, as the token lists show them.
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenRevoked = "revoked"
	// TokenOwnerDisabled: neither revoked nor expired, but its member is
	// disabled, so it does not work until they are enabled again.
	TokenOwnerDisabled = "member-disabled"
)

// TokenRow is one personal API token as a list shows it. Its secret is
// never kept, so never shown: Prefix tells tokens apart.
type TokenRow struct {
	ID         int64
	Name       string
	Prefix     string // "sd_Ab12Cd"
	Scopes     []string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero unless revoked
	State      string    // TokenActive, TokenOwnerDisabled, TokenExpired or TokenRevoked
	// The owner, on the admin's list of every member's tokens.
	OwnerID               int64
	OwnerName, OwnerEmail string
}

// Shown is the token's prefix as lists show it: "sd_Ab12Cd…".
func (t TokenRow) Shown() string { return t.Prefix + "…" }

// StateLabel names the token's state for people.
func (t TokenRow) StateLabel() string {
	switch t.State {
	case TokenActive:
		return "Active"
	case TokenRevoked:
		return "Revoked"
	case TokenOwnerDisabled:
		return "Member disabled"
	}
	return "Expired"
}

// Revocable: the token works, or would if its member were enabled again.
func (t TokenRow) Revocable() bool { return t.State == TokenActive || t.State == TokenOwnerDisabled }

// StateBadge is the badge class of the token's state.
func (t TokenRow) StateBadge() string {
	switch t.State {
	case TokenActive:
		return "badge badge-ok"
	case TokenRevoked:
		return "badge badge-err"
	}
	return "badge badge-wait"
}

// ScopeOption is one scope checkbox of the create form.
type ScopeOption struct {
	Value, Description string
	Checked            bool
}

// TokenForm is the create-a-token form: the values as typed and, after a
// refused submit (422), the field messages.
type TokenForm struct {
	Name    string
	Scopes  []ScopeOption
	Days    string
	MaxDays int
	// Errors by field; "" is about the form as a whole.
	Errors map[string]string
	// FormKey is the form's one-time key: posted again, it makes nothing.
	FormKey string
}

// NewToken is a token just made: Secret is shown on this one answer and
// never again.
type NewToken struct {
	Name      string
	Secret    string
	ExpiresAt time.Time
	// Curl is a ready command that uses the token against /api/v1/me.
	Curl string
}

// AccountTokens is /account/tokens.
type AccountTokens struct {
	Zone    Zone
	Tokens  []TokenRow
	Form    TokenForm
	Created *NewToken // nil except on the answer to a create
}

// AdminTokens is /admin/tokens: every member's tokens neither revoked nor
// expired, a disabled member's marked so.
type AdminTokens struct {
	Zone   Zone
	Tokens []TokenRow
}

// APIExample is one route of the API documentation page, with a curl
// command that runs as shown.
type APIExample struct {
	ID      string // the section's anchor
	Method  string
	Path    string
	Access  string // which token it needs: "Scope: jobs:read.", "No token."
	Text    string
	Command string
	// Then are more commands with what each shows, after the first.
	Then []APICommand
}

// APICommand is one more curl command of an example.
type APICommand struct {
	Text    string
	Command string
}

// APIProblem is one problem type of the API, documented under the anchor
// "problem-" + Kind that its type URI names.
type APIProblem struct {
	Kind   string
	Status int
	Title  string
	Text   string
}

// Anchor is the problem's id on the documentation page.
func (p APIProblem) Anchor() string { return "problem-" + p.Kind }

// APIDocs is /docs/api.
type APIDocs struct {
	// Base is this server's public base URL; API is Base + "/api/v1".
	Base, API string
	// Sandbox: the examples use the sandbox's sample inputs.
	Sandbox  bool
	Setup    string // the shell line that sets SWAPDESK_TOKEN
	Examples []APIExample
	Problems []APIProblem
	// TokenRate says each token's request limit ("" when there is none).
	TokenRate string
	// Limits: each member's link checks (estimates and submissions).
	CheckRate, CheckBurst, ChecksAtOnce int
}
