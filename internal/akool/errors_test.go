package akool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorTable(t *testing.T) {
	tests := []struct {
		code      int
		wantCat   Category
		wantRetry bool
		wantMsg   string
	}{
		{1003, CategoryInvalidInput, false, "Akool refused the request"},
		{1005, CategoryRateLimited, true, "Akool is busy, try again in a minute."},
		{1006, CategoryQuota, false, "out of credits"},
		{1104, CategoryQuota, false, "out of credits"},
		{1103, CategoryQuota, false, "payment is overdue"},
		{1008, CategoryNotFound, false, "does not know this job"},
		{1014, CategoryNotFound, false, "could not find the input"},
		{1009, CategoryAuth, false, "Your Akool plan does not include Character Swap — ask your admin."},
		{1213, CategoryAuth, false, "Your Akool plan does not include Character Swap — ask your admin."},
		{1221, CategoryAuth, false, "Your Akool plan does not include Character Swap — ask your admin."},
		{1101, CategoryAuth, false, "check the API key"},
		{1102, CategoryAuth, false, "check the API key"},
		{1200, CategoryAuth, false, "blocked"},
		{1015, CategoryUpstream, true, "try again later"},
		{1204, CategoryInvalidInput, false, "120 seconds"},
		{2001, CategoryUpstream, true, "server error"},
		{9999, CategoryUpstream, false, "unexpected error"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			e := &Error{Code: tt.code, Msg: "secret upstream text", Op: "create"}
			if e.Category() != tt.wantCat || e.Retryable() != tt.wantRetry || !strings.Contains(e.UserMessage(), tt.wantMsg) {
				t.Errorf("got %v retry=%v %q, want %v retry=%v containing %q",
					e.Category(), e.Retryable(), e.UserMessage(), tt.wantCat, tt.wantRetry, tt.wantMsg)
			}
			wrapped := fmt.Errorf("submitting: %w", e)
			if UserMessage(wrapped) != e.UserMessage() || CategoryOf(wrapped) != tt.wantCat || IsRetryable(wrapped) != tt.wantRetry {
				t.Errorf("helpers on a wrapped error disagree with the methods")
			}
			if strings.Contains(UserMessage(wrapped), "secret upstream text") {
				t.Errorf("UserMessage leaks Akool's msg")
			}
			if !errors.Is(wrapped, &Error{Code: tt.code}) || errors.Is(wrapped, &Error{Code: tt.code + 1}) {
				t.Errorf("errors.Is by code does not work")
			}
			if code, ok := Code(wrapped); !ok || code != tt.code {
				t.Errorf("Code: got %d %v, want %d", code, ok, tt.code)
			}
			if e.Known() != (tt.code != 9999) {
				t.Errorf("Known: got %v", e.Known())
			}
		})
	}
}

// Every documented code (AKOOL-API.md §6.1) is classified with a message.
func TestEveryDocumentedCodeIsClassified(t *testing.T) {
	doc := []int{1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1013, 1014, 1015, 1016, 1017,
		1101, 1102, 1103, 1104, 1105, 1108, 1109, 1110, 1111, 1112, 1200, 1201, 1202, 1203, 1204, 1205,
		1206, 1207, 1208, 1209, 1210, 1211, 1212, 1213, 1214, 1215, 1216, 1217, 1218, 1219, 1220, 1221,
		1222, 1223, 2001}
	if got, want := len(KnownCodes()), len(doc); got != want {
		t.Errorf("KnownCodes: got %d, want %d", got, want)
	}
	for _, code := range doc {
		e := &Error{Code: code}
		if !e.Known() || e.UserMessage() == "" || e.UserMessage() == msgUnknown {
			t.Errorf("code %d: known=%v message %q", code, e.Known(), e.UserMessage())
		}
	}
}

func TestOtherErrorTypes(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantCat   Category
		wantRetry bool
	}{
		{"transport", &TransportError{Op: opResult, Err: errors.New("connection refused")}, CategoryUpstream, true},
		{"transport cancelled", &TransportError{Op: opResult, Err: context.Canceled}, CategoryUpstream, false},
		{"502", &HTTPError{Op: opResult, StatusCode: 502}, CategoryUpstream, true},
		{"429", &HTTPError{Op: opResult, StatusCode: 429}, CategoryRateLimited, true},
		{"408", &HTTPError{Op: opResult, StatusCode: 408}, CategoryUpstream, true},
		{"404", &HTTPError{Op: opResult, StatusCode: 404}, CategoryUpstream, false},
		{"response", &ResponseError{Op: opResult, Reason: "x"}, CategoryUpstream, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if CategoryOf(tt.err) != tt.wantCat || IsRetryable(tt.err) != tt.wantRetry || UserMessage(tt.err) == "" {
				t.Errorf("got %v retry=%v %q, want %v retry=%v", CategoryOf(tt.err), IsRetryable(tt.err), UserMessage(tt.err), tt.wantCat, tt.wantRetry)
			}
			if _, ok := Code(tt.err); ok {
				t.Errorf("Code: got ok for a non-Akool error")
			}
		})
	}
	create := &TransportError{Op: opCreate, Err: context.DeadlineExceeded}
	if !strings.Contains(UserMessage(create), "may or may not") {
		t.Errorf("create timeout message must warn about an unknown outcome: %q", UserMessage(create))
	}
	if UserMessage(nil) != "" || UserMessage(errors.New("dial tcp 10.0.0.1")) == "dial tcp 10.0.0.1" {
		t.Errorf("UserMessage of nil or foreign errors")
	}
}
