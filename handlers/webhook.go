package handlers

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"swapdesk/internal/akool"
	"swapdesk/internal/jobs"
)

// maxWebhookBytes bounds a webhook body; Akool's are a few hundred bytes.
const maxWebhookBytes = 64 << 10

// webhook receives Akool's signed, encrypted callbacks. It answers quickly:
// the tracker stores a verified event once and polls the job at once. A
// body that does not verify gets 401 and is not stored (the route is open
// to anyone); it is counted by reason and logged at a bounded rate, so a
// flood of forgeries cannot flood the log. A replay and an unknown job get
// 200 so Akool stops retrying.
func (s *Server) webhook(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBytes+1))
	if err != nil {
		s.refusals.refused(reasonUnreadable, c.RealIP(), err)
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "unreadable body"})
	}
	if len(body) > maxWebhookBytes {
		s.refusals.refused(reasonTooLarge, c.RealIP(), nil)
		return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
	}
	if err := s.cfg.Webhooks.HandleWebhook(c.Request().Context(), body); err != nil {
		if errors.Is(err, jobs.ErrWebhookRejected) {
			s.refusals.refused(refusalReason(err), c.RealIP(), err)
			return c.JSON(http.StatusUnauthorized, map[string]string{"error": "signature does not verify"})
		}
		s.log.Error("webhook", "err", err)
		return c.JSON(http.StatusInternalServerError, map[string]string{"error": "try again"})
	}
	return c.JSON(http.StatusOK, map[string]string{})
}

// Why a webhook was refused: the values of the reason label.
const (
	reasonUnreadable = "unreadable" // the body could not be read
	reasonTooLarge   = "too_large"  // over maxWebhookBytes
	reasonMalformed  = "malformed"  // not the JSON envelope Akool sends
	reasonSignature  = "signature"  // the signature does not match
	reasonDecrypt    = "decrypt"    // signed, but the ciphertext does not decrypt
	reasonPayload    = "payload"    // decrypted, but not an event
	reasonOther      = "other"      // e.g. no AKOOL_CLIENT_ID to verify with
)

var refusalReasons = []string{reasonUnreadable, reasonTooLarge, reasonMalformed, reasonSignature, reasonDecrypt, reasonPayload, reasonOther}

// refusalReason names why HandleWebhook refused a body.
func refusalReason(err error) string {
	switch {
	case errors.Is(err, akool.ErrWebhookBody):
		return reasonMalformed
	case errors.Is(err, akool.ErrWebhookSignature):
		return reasonSignature
	case errors.Is(err, akool.ErrWebhookBase64), errors.Is(err, akool.ErrWebhookCiphertext), errors.Is(err, akool.ErrWebhookPadding):
		return reasonDecrypt
	case errors.Is(err, akool.ErrWebhookPayload):
		return reasonPayload
	}
	return reasonOther
}

// Refused webhooks logged one by one before the rest are only summarised,
// and how often a summary is written while refusals go on.
const (
	refusalBurst  = 5
	refusalPeriod = time.Minute
)

// refusalLog counts refused webhooks by reason and logs them at a bounded
// rate: the first refusalBurst of a period one by one, then one summary
// with the count at the end of each period in which more came. After a
// quiet period, refusals are logged one by one again.
type refusalLog struct {
	total *prometheus.CounterVec
	log   *slog.Logger
	now   func() time.Time
	// afterFunc is time.AfterFunc; tests run the summary themselves.
	afterFunc func(time.Duration, func())

	mu          sync.Mutex
	periodStart time.Time
	logged      int            // refusals logged one by one this period
	unlogged    map[string]int // refusals by reason since the last line
	lastIP      string
	armed       bool // a summary is due at the end of the period
}

func newRefusalLog(reg prometheus.Registerer, log *slog.Logger, now func() time.Time) *refusalLog {
	r := &refusalLog{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swapdesk_webhook_refused_total",
			Help: "Webhooks refused (answered 4xx, not stored), by reason.",
		}, []string{"reason"}),
		log:       log,
		now:       now,
		afterFunc: func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		unlogged:  map[string]int{},
	}
	for _, reason := range refusalReasons {
		r.total.WithLabelValues(reason) // every reason shows, at 0
	}
	if reg != nil {
		reg.MustRegister(r.total)
	}
	return r
}

// refused counts one refusal and logs it, or leaves it to the summary.
func (r *refusalLog) refused(reason, ip string, err error) {
	r.total.WithLabelValues(reason).Inc()
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.armed && now.Sub(r.periodStart) >= refusalPeriod {
		r.periodStart, r.logged = now, 0
	}
	if r.logged < refusalBurst {
		r.logged++
		attrs := []any{"reason", reason, "ip", ip}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		if r.logged == refusalBurst {
			attrs = append(attrs, "note", "further refusals are counted in swapdesk_webhook_refused_total and summarised each minute")
		}
		r.log.Warn("webhook refused", attrs...)
		return
	}
	r.unlogged[reason]++
	r.lastIP = ip
	if !r.armed {
		r.armed = true
		r.afterFunc(r.periodStart.Add(refusalPeriod).Sub(now), r.summarise)
	}
}

// summarise logs the refusals not yet logged, and starts a new period in
// which refusals go straight to the next summary.
func (r *refusalLog) summarise() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	n := 0
	attrs := []any{}
	for _, reason := range refusalReasons {
		if c := r.unlogged[reason]; c > 0 {
			n += c
			attrs = append(attrs, reason, c)
		}
	}
	attrs = append([]any{"count", n, "since", r.periodStart, "last_ip", r.lastIP}, attrs...)
	r.log.Warn("webhooks refused and not logged one by one", attrs...)
	clear(r.unlogged)
	r.periodStart, r.logged, r.armed = now, refusalBurst, false
}
