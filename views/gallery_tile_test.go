package views

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// galleryTilesFast writes exactly what the templ reference galleryTile
// does, for every branch of the tile, with text that needs escaping in
// every field that carries text, a tile at a time and all in one list.
func TestGalleryTileFastMatchesTempl(t *testing.T) {
	hostile := `<script>alert("x & 'y'")</script>`
	when := time.Date(2026, 11, 25, 8, 4, 5, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		name string
		tile GalleryTile
	}{
		{"plain", GalleryTile{ID: 30, Length: "12 s", Resolution: "720p", Mode: "animate", Owner: "you",
			CreatedAt: when, Relative: "1 h ago", Credits: "30 credits", Star: Star{JobID: 30, CSRF: "-U_qsZlfFw4jFPIu0yZHUeCYqF1JF-UlAONFG40F56k"}}},
		{"hidden and starred", GalleryTile{ID: 987654321, Length: "3.5 s", Resolution: "1080p", Mode: "replace", Owner: "Member 07",
			CreatedAt: when.AddDate(-1, 0, 0), Relative: "25 Nov 2025", Hidden: true, Star: Star{JobID: 987654321, On: true, CSRF: "tok"}}},
		{"hostile text everywhere", GalleryTile{ID: 5, Length: hostile, Resolution: hostile, Mode: hostile, Owner: hostile,
			CreatedAt: when, Relative: hostile, Credits: hostile, Star: Star{JobID: 5, CSRF: hostile}}},
		{"zero time, no credits", GalleryTile{ID: 1, Star: Star{JobID: 1}}},
		{"star of another id", GalleryTile{ID: 7, Owner: "a", Star: Star{JobID: 8, On: true, CSRF: "c"}}},
	}
	var all []GalleryTile
	var wantAll bytes.Buffer
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := galleryTile(tc.tile).Render(context.Background(), &want); err != nil {
				t.Fatal(err)
			}
			if err := galleryTilesFast([]GalleryTile{tc.tile}).Render(context.Background(), &got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("galleryTilesFast wrote\n%s\nthe templ reference writes\n%s", got.String(), want.String())
			}
			all = append(all, tc.tile)
			wantAll.Write(want.Bytes())
		})
	}
	var got bytes.Buffer
	if err := galleryTilesFast(all).Render(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if got.String() != wantAll.String() {
		t.Errorf("galleryTilesFast of %d tiles wrote\n%s\nthe templ reference writes\n%s", len(all), got.String(), wantAll.String())
	}
}

func TestOptionListMatchesTempl(t *testing.T) {
	hostile := `<script>alert("x & 'y'")</script>`
	opts := []Option{{Value: "1", Label: "Ana"}, {Value: "2", Label: hostile}, {Value: hostile, Label: "Bo"}, {Value: "", Label: ""}}
	for _, selected := range []string{"", "1", "2", hostile, "none"} {
		var want, got bytes.Buffer
		if err := optionListRef(opts, selected).Render(context.Background(), &want); err != nil {
			t.Fatal(err)
		}
		if err := optionList(opts, selected).Render(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("selected %q: optionList wrote\n%s\nthe templ reference writes\n%s", selected, got.String(), want.String())
		}
	}
}
