package credits

import (
	"fmt"

	"swapdesk/db"
)

// The ledger notes of a job's hold, and of its release when Akool never ran
// the job (the settlement's are Settle's).
const (
	// HoldNote is the hold written with the job.
	HoldNote = "hold for job"
	// NotTakenNote releases the hold of a job Akool refused or did not
	// answer for.
	NotTakenNote = "not taken by Akool"
	// InterruptedNote releases the hold of a job found still submitting at
	// start-up.
	InterruptedNote = "interrupted at start-up"
)

// Outcome is how Akool finished a job, as far as credits go.
type Outcome struct {
	Succeeded bool
	// Estimate is what the job's hold covered.
	Estimate int64
	// Reported is Akool's deduction_credit, nil when Akool reported none
	// (0 is a report: then the team paid nothing).
	Reported *int64
}

// Settlement is what finishing a job does to its member's credits: the
// hold is always released in full, then Charge is charged.
type Settlement struct {
	Charge      int64
	ReleaseNote string
	ChargeNote  string
	// Detail is the job's status history line ("" for a failure, whose
	// reason is shown instead).
	Detail string
}

// Settle is the settlement rule. A failed job is charged nothing. A
// succeeded job is charged what Akool reports, even above the estimate:
// Akool's figure is what the team paid, so capping it would hide spend from
// the ledger (and an adjustment for the rest would be the same debit under
// a vaguer name). The hold only covered the estimate, so the member's
// balance may then go below zero; the detail says so, for admins to see.
// Only when Akool reports no figure is the estimate charged.
func Settle(o Outcome) Settlement {
	if !o.Succeeded {
		return Settlement{ReleaseNote: "job failed; nothing charged"}
	}
	charge := o.Estimate
	if o.Reported != nil && *o.Reported >= 0 {
		charge = *o.Reported
	}
	detail := fmt.Sprintf("charged %d credits", charge)
	if charge > o.Estimate {
		detail += fmt.Sprintf(", more than the estimate of %d", o.Estimate)
	}
	return Settlement{Charge: charge, ReleaseNote: "job finished", ChargeNote: "charged by Akool", Detail: detail}
}

// Apply writes s into u, the store update that finishes the job.
func (s Settlement) Apply(u *db.Update) {
	charge := s.Charge
	u.Charged = &charge
	u.ReleaseNote, u.ChargeNote = s.ReleaseNote, s.ChargeNote
	if s.Detail != "" {
		u.Detail = s.Detail
	}
}
