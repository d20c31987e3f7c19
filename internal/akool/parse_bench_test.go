package akool

import "testing"

// BenchmarkParseResponse measures what every poll costs us: the envelope
// and the job in data, on the docs' completed example.
func BenchmarkParseResponse(b *testing.B) {
	for _, bc := range []struct{ name, body, key string }{
		{"create", docCreate, "status"},
		{"completed", docDone, "video_status"},
		{"error", `{"code":1104,"msg":"Insufficient credit balance"}`, "status"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := []byte(bc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				env, ok := parseEnvelope(body)
				if !ok {
					b.Fatal("not an envelope")
				}
				if env.Code == CodeSuccess {
					if _, ok := parseJob(env.Data, bc.key); !ok {
						b.Fatal("no job")
					}
				}
			}
		})
	}
}
