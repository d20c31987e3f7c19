package credits

import (
	"context"
	"fmt"
	"strings"
	"time"
	// Zone data inside the binary, so a zone can be chosen on a host (or a
	// slim container) without /usr/share/zoneinfo.
	_ "time/tzdata"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// FieldTimeZone is the form field that sets the team's time zone. The
// zone is the setting db.SettingTeamTimeZone, read with TeamLocation.
const FieldTimeZone = fields.TimeZone

// SettingsWriter stores a setting with its audit entry (db.DB.SetSetting)
// and keeps spend by day in a zone's days (db.DB.SetSpendDays).
type SettingsWriter interface {
	SetSetting(ctx context.Context, key, value string, audit db.AuditEntry) error
	SetSpendDays(ctx context.Context, loc *time.Location) error
}

// AuditTeamZone is the audit action of a change of the team's time zone.
const AuditTeamZone = "team_time_zone_changed"

// ParseZone checks an IANA zone name as a person typed it (space around
// it ignored) and returns the zone, or an *apperr.Invalid for
// FieldTimeZone. The empty name and "Local" are refused: the server's own
// zone is not a team's choice.
func ParseZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	bad := func(msg string) error { return apperr.Fields(apperr.FieldErrors{FieldTimeZone: msg}) }
	if name == "" || name == "Local" {
		return nil, bad("Enter a time zone such as UTC, Europe/Berlin or America/New_York.")
	}
	if len(name) > 64 {
		return nil, bad("That is not a time zone name: they are at most a few words long, such as Europe/Berlin.")
	}
	loc, err := LoadLocation(name)
	if err != nil {
		return nil, bad(fmt.Sprintf("There is no time zone called %q. Use a name such as Europe/Berlin or America/New_York.", name))
	}
	return loc, nil
}

// SetTeamZone validates name (see ParseZone) and stores it as the team's
// time zone, audited with actorID and ip in the same transaction. On a bad
// name nothing is written.
func SetTeamZone(ctx context.Context, settings SettingsWriter, actorID int64, ip, name string) (*time.Location, error) {
	loc, err := ParseZone(name)
	if err != nil {
		return nil, err
	}
	err = settings.SetSetting(ctx, db.SettingTeamTimeZone, loc.String(), db.AuditEntry{
		ActorID: actorID, Action: AuditTeamZone, Subject: loc.String(), IP: ip, Detail: fmt.Sprintf("time_zone=%q", loc.String()),
	})
	if err != nil {
		return nil, err
	}
	// Spend by day is read from per-day sums in the team's days. Should this
	// fail, the sums stay in the old zone's days and reads fall back to the
	// charges themselves: slower, still exact.
	if err := settings.SetSpendDays(ctx, loc); err != nil {
		return loc, fmt.Errorf("team time zone %s saved; spend by day not rebuilt: %w", loc, err)
	}
	return loc, nil
}
