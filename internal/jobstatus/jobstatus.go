// Package jobstatus is a job's state (DESIGN.md "Job states") with what
// people see of it: its label and its badge. The store keeps it and the
// views show it; neither defines it.
package jobstatus

// Status is the state of a job.
type Status string

// The states, in the order a job passes through them.
const (
	// Submitting: the row is written and credits are held; Akool has not
	// answered yet.
	Submitting Status = "submitting"
	Queued     Status = "queued"
	Processing Status = "processing"
	Succeeded  Status = "succeeded"
	Failed     Status = "failed"
	// Rejected: Akool refused the create; the hold was released.
	Rejected Status = "rejected"
	// Interrupted: the process died between the hold and Akool's answer;
	// found at start-up and released.
	Interrupted Status = "interrupted"
)

// Final reports whether a job in s will not change state again.
func (s Status) Final() bool {
	switch s {
	case Succeeded, Failed, Rejected, Interrupted:
		return true
	}
	return false
}

// Label is the state as members read it ("Done"); an unknown state is
// shown as it is.
func (s Status) Label() string {
	switch s {
	case Submitting:
		return "Sending to Akool"
	case Queued:
		return "Queued"
	case Processing:
		return "Processing"
	case Succeeded:
		return "Done"
	case Failed:
		return "Failed"
	case Rejected:
		return "Not accepted"
	case Interrupted:
		return "Interrupted"
	}
	return string(s)
}

// Known reports whether s is one of the states above.
func (s Status) Known() bool { return s.Label() != string(s) }

// Badge is the CSS class of the state's badge.
func (s Status) Badge() string {
	switch s {
	case Succeeded:
		return "badge badge-ok"
	case Failed, Rejected, Interrupted:
		return "badge badge-err"
	case Queued, Submitting:
		return "badge badge-wait"
	}
	return "badge badge-run"
}
