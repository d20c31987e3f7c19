package akoolsim

import (
	"time"

	"swapdesk/internal/akool"
)

// Endpoint names an emulated API endpoint, for CallFault.
type Endpoint int

// The four Akool endpoints.
const (
	EndpointToken  Endpoint = iota + 1 // POST /api/open/v3/getToken
	EndpointCreate                     // POST /api/open/v4/characterSwap/create
	EndpointResult                     // GET /api/open/v3/content/video/infobymodelid
	EndpointQuota                      // GET /api/open/v3/faceswap/quota/info
)

// Forever as CallFault.Count keeps the fault until ClearFaults.
const Forever = -1

// CallFault replaces the answers to an endpoint after authentication has
// passed (a bad key still gets 1101). Exactly one of Code, HTTPStatus, Hang
// should be set.
type CallFault struct {
	Code       int    // answer HTTP 200 {"code":Code,"msg":…}, e.g. 1015, 1005, 2001
	Msg        string // the msg sent with Code; "" = Akool's description of the code
	HTTPStatus int    // answer this HTTP status with an HTML body, as a load balancer would (e.g. 502)
	Hang       bool   // hold the request until the client gives up or the Sim closes
	Count      int    // how many calls it affects; 0 means 1; Forever until ClearFaults
}

// WebhookFault changes how one webhook event is delivered.
type WebhookFault struct {
	JobID        string        // "" = the next webhook event of any job
	Status       akool.Status  // 0 = the next event of any status (2 comes before 3 or 4)
	Drop         bool          // never send it
	Duplicate    bool          // send it twice (two independent deliveries of the same body)
	BadSignature bool          // send it with a corrupted signature
	Delay        time.Duration // hold the first attempt this long, by the emulator clock
}

// MagicFailPrompt in a create's prompt makes that job fail, for trying the
// failure path by hand in the sandbox. Tests should prefer FailNextJob.
const MagicFailPrompt = "[akoolsim:fail]"

type faults struct {
	calls        map[Endpoint][]CallFault
	webhooks     []WebhookFault
	failNext     []string // reasons for the next created jobs
	banned       bool
	unsubscribed bool
}

// InjectCall queues a fault for an endpoint. Faults queued for the same
// endpoint apply in order.
func (s *Sim) InjectCall(ep Endpoint, f CallFault) {
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.calls == nil {
		s.faults.calls = make(map[Endpoint][]CallFault)
	}
	s.faults.calls[ep] = append(s.faults.calls[ep], f)
}

// takeCallFaultLocked consumes one use of the first fault for ep.
func (s *Sim) takeCallFaultLocked(ep Endpoint) (CallFault, bool) {
	q := s.faults.calls[ep]
	if len(q) == 0 {
		return CallFault{}, false
	}
	f := q[0]
	if q[0].Count > 0 {
		q[0].Count--
		if q[0].Count == 0 {
			s.faults.calls[ep] = q[1:]
		}
	}
	return f, true
}

// InjectWebhook queues a delivery fault for the next webhook event that
// matches it: of the given job (any job when JobID is empty) and status
// (any status when Status is 0).
func (s *Sim) InjectWebhook(f WebhookFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.webhooks = append(s.faults.webhooks, f)
}

func (s *Sim) takeWebhookFaultLocked(jobID string, status akool.Status) WebhookFault {
	for i, f := range s.faults.webhooks {
		if (f.JobID == "" || f.JobID == jobID) && (f.Status == 0 || f.Status == status) {
			s.faults.webhooks = append(s.faults.webhooks[:i:i], s.faults.webhooks[i+1:]...)
			return f
		}
	}
	return WebhookFault{}
}

// FailNextJob makes the next created job fail with reason (as its
// faceswap_fail_reason) when it would have finished; credits are refunded.
func (s *Sim) FailNextJob(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext = append(s.faults.failNext, reason)
}

// FailJob makes a job that is not final yet fail with reason when it would
// have finished. It returns ErrUnknownJob or ErrJobFinal.
func (s *Sim) FailJob(id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return ErrUnknownJob
	}
	s.advanceLocked(j, s.now())
	if j.status.Final() {
		return ErrJobFinal
	}
	j.forceFail = reason
	s.markDirtyLocked()
	return nil
}

// ExpireResult makes a job's result URL answer 404 from now on, as if the
// 7 days had passed. It returns ErrUnknownJob.
func (s *Sim) ExpireResult(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return ErrUnknownJob
	}
	j.expiredEarly = true
	s.markDirtyLocked()
	return nil
}

// SetBanned makes every authenticated call and getToken answer 1200
// ("The account has been banned") while on.
func (s *Sim) SetBanned(banned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.banned = banned
}

// SetSubscribed(false) makes create answer 1213 ("Requires subscription
// user to use"), as for an account below the Pro plan.
func (s *Sim) SetSubscribed(subscribed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.unsubscribed = !subscribed
}

// RevokeTokens invalidates every token issued so far: calls using them get
// 1101 and a client must fetch a new one.
func (s *Sim) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
	s.markDirtyLocked()
}

// ClearFaults removes every queued fault and turns ban and plan faults off.
// It does not undo FailJob or ExpireResult.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faults{}
}
