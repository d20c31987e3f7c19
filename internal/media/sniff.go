package media

import (
	"bytes"
	"net/http"
	"strings"
	"unicode/utf8"
)

// sniff names the format of a file from its first bytes, never from its
// name or Content-Type: "png", "jpeg", "gif", "webp", "bmp", "tiff", "ico",
// "heif", "mp4", "webm", "avi", "pdf", "svg", "html", "text", "empty" or
// "unknown".
func sniff(head []byte) string {
	switch {
	case len(head) == 0:
		return "empty"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		return "webp"
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "AVI ":
		return "avi"
	case bytes.HasPrefix(head, []byte("BM")) && len(head) >= 14:
		return "bmp"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(head, []byte{0, 0, 1, 0}):
		return "ico"
	case bytes.HasPrefix(head, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return "webm"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "pdf"
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		switch string(head[8:12]) {
		case "avif", "avis", "heic", "heix", "heim", "heis", "mif1", "msf1":
			return "heif"
		}
		return "mp4"
	case len(head) >= 8 && isTopLevelMP4Box(string(head[4:8])):
		return "mp4"
	}
	text := strings.ToLower(string(bytes.TrimLeft(head, "\xef\xbb\xbf \t\r\n")))
	switch {
	case strings.HasPrefix(text, "<svg"), strings.HasPrefix(text, "<?xml") && strings.Contains(text, "<svg"):
		return "svg"
	}
	ct := http.DetectContentType(head)
	switch {
	case strings.HasPrefix(ct, "text/html"):
		return "html"
	case (strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json")) && validUTF8Prefix(head):
		return "text"
	}
	return "unknown"
}

// isTopLevelMP4Box lists the box types an ISO-BMFF/QuickTime file may start
// with besides ftyp (old QuickTime files have no ftyp).
func isTopLevelMP4Box(t string) bool {
	switch t {
	case "moov", "mdat", "free", "skip", "wide", "pnot":
		return true
	}
	return false
}

// validUTF8Prefix is utf8.Valid, forgiving a rune cut off by the sniff window.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// SniffImage names a PNG or JPEG file from its first bytes (never its name
// or Content-Type), for files Swapdesk keeps: the file extension and the
// content type to serve it with; ok is false for anything else.
func SniffImage(head []byte) (ext, contentType string, ok bool) {
	switch sniff(head) {
	case "png":
		return "png", "image/png", true
	case "jpeg":
		return "jpg", "image/jpeg", true
	}
	return "", "", false
}
