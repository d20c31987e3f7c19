// Package problem is the JSON API's error vocabulary: RFC 9457 problem
// details with one stable type per kind of error. Each type's URI is a
// relative reference to its anchor on the in-app API docs page
// (DocsPath#problem-<slug>), so Types is the one list both the API and
// that page range over.
package problem

// DocsPath is the in-app API documentation page the type URIs point into.
const DocsPath = "/docs/api"

// ContentType is the media type of every problem answer.
const ContentType = "application/problem+json"

// Type is one kind of problem.
type Type struct {
	// Slug names the type; the docs page's anchor is "problem-" + Slug.
	Slug string
	// Status is the HTTP status every problem of this type answers with.
	Status int
	// Title is the short, fixed summary sent as the problem's title.
	Title string
	// Doc says, for the docs page, when the type is answered and what to do.
	Doc string
}

// Anchor is the id of the type's section on the docs page.
func (t Type) Anchor() string { return "problem-" + t.Slug }

// URI is the type's stable identifier, sent as the problem's type.
func (t Type) URI() string { return DocsPath + "#" + t.Anchor() }

// The problem types, one per kind of error.
var (
	BadRequest = Type{Slug: "bad-request", Status: 400, Title: "Bad request",
		Doc: "The request could not be read: the body is not JSON (Content-Type must be application/json), " +
			"the JSON is malformed or has trailing data, a field is unknown or has the wrong type, or a query parameter or cursor is not valid. " +
			"The errors list names each field. Fix the request; retrying it as it is will fail again."}
	IdempotencyKey = Type{Slug: "idempotency-key", Status: 400, Title: "Missing or invalid Idempotency-Key",
		Doc: "POST /api/v1/jobs needs an Idempotency-Key header of 1 to 255 printable ASCII characters. " +
			"Make one per job you mean to start (a UUID is fine) and send the same key again when you retry."}
	Unauthorized = Type{Slug: "unauthorized", Status: 401, Title: "Unauthorized",
		Doc: "The Authorization header is missing, or its bearer token is malformed, unknown, expired or revoked, " +
			"or its member is disabled. The answer is the same for each, on purpose. Create a token at /account/tokens."}
	Forbidden = Type{Slug: "forbidden", Status: 403, Title: "Forbidden",
		Doc: "The token is valid but lacks the scope this route needs (jobs:read, jobs:write or gallery:read). " +
			"Create a token with that scope."}
	NotFound = Type{Slug: "not-found", Status: 404, Title: "Not found",
		Doc: "There is no such route, or no such job that you may see: another member's job answers exactly like one that does not exist."}
	MethodNotAllowed = Type{Slug: "method-not-allowed", Status: 405, Title: "Method not allowed",
		Doc: "The route exists but does not accept this method; the Allow header lists the methods it does accept."}
	IdempotencyConflict = Type{Slug: "idempotency-conflict", Status: 409, Title: "Idempotency-Key reused with a different body",
		Doc: "This Idempotency-Key already started a job with other inputs; nothing new was started. " +
			"Use a new key for a new job."}
	Conflict = Type{Slug: "conflict", Status: 409, Title: "Conflict",
		Doc: "The job is in a state that does not allow this, such as deleting a job that is still running. Wait until it finishes."}
	TooLarge = Type{Slug: "too-large", Status: 413, Title: "Request body too large",
		Doc: "The request body is larger than the API accepts (64 KiB for JSON bodies)."}
	Invalid = Type{Slug: "invalid", Status: 422, Title: "Invalid input",
		Doc: "The request was read but a field's value is not acceptable (the same rules and messages as the New swap form). " +
			"The errors list has one entry per field, keyed by its JSON name. Nothing was written or charged."}
	InsufficientCredits = Type{Slug: "insufficient-credits", Status: 422, Title: "Insufficient credits",
		Doc: "Your available balance does not cover the job's exact price. Nothing was held. Ask an admin for more credits; " +
			"POST /api/v1/estimate tells the price first."}
	RateLimited = Type{Slug: "rate-limited", Status: 429, Title: "Too many requests",
		Doc: "Too many requests for this token, or too many link checks for your account, in a short time. " +
			"Wait the number of seconds in the Retry-After header, then send the same request again."}
	Internal = Type{Slug: "internal", Status: 500, Title: "Internal error",
		Doc: "Something failed on our side. It has been logged with the X-Request-Id of the answer; retry later, " +
			"and tell an admin that id if it persists."}
)

// Types lists every problem type, in the order the docs page shows them.
var Types = []Type{
	BadRequest, IdempotencyKey, Unauthorized, Forbidden, NotFound, MethodNotAllowed,
	IdempotencyConflict, Conflict, TooLarge, Invalid, InsufficientCredits, RateLimited, Internal,
}

// FieldError is one field's problem, keyed by its JSON name (a query
// parameter's or header's name for those).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Details is an RFC 9457 problem details object.
type Details struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	Instance string       `json:"instance"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// New returns a problem of type t about instance (the request's path).
func New(t Type, detail, instance string, errs ...FieldError) Details {
	return Details{Type: t.URI(), Title: t.Title, Status: t.Status, Detail: detail, Instance: instance, Errors: errs}
}
