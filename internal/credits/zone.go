package credits

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	// Zone data inside the binary, so a zone can be chosen on a host (or a
	// slim container) without /usr/share/zoneinfo.
	_ "time/tzdata"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

// SettingTeamZone is the settings key of the team's time zone: an IANA
// name such as "Europe/Berlin". Month boundaries (allowances, "this
// month") and the admin pages' dates use it. Absent means UTC.
const SettingTeamZone = "team_time_zone"

// FieldTimeZone is the form field that sets it.
const FieldTimeZone = "time_zone"

// SettingsReader reads a setting (db.DB.Setting).
type SettingsReader interface {
	Setting(ctx context.Context, key string) (string, error)
}

// TeamZone returns the team's time zone: the zone stored under
// SettingTeamZone, or UTC when none is stored. A stored name that no
// longer loads (it was valid when saved) is an error, so the caller does
// not silently count months in the wrong zone.
func TeamZone(ctx context.Context, settings SettingsReader) (*time.Location, error) {
	name, err := settings.Setting(ctx, SettingTeamZone)
	if errors.Is(err, apperr.ErrNotFound) {
		return time.UTC, nil
	}
	if err != nil {
		return nil, fmt.Errorf("team time zone: %w", err)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("team time zone %q: %w", name, err)
	}
	return loc, nil
}

// SettingsWriter stores a setting with its audit entry (db.DB.SetSetting).
type SettingsWriter interface {
	SetSetting(ctx context.Context, key, value string, audit db.AuditEntry) error
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
	loc, err := time.LoadLocation(name)
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
	err = settings.SetSetting(ctx, SettingTeamZone, loc.String(), db.AuditEntry{
		ActorID: actorID, Action: AuditTeamZone, Subject: loc.String(), IP: ip, Detail: fmt.Sprintf("time_zone=%q", loc.String()),
	})
	if err != nil {
		return nil, err
	}
	return loc, nil
}
