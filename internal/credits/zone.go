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

// SettingsWriter stores the team's time zone with its audit entry and
// rebuilds spend by day in the zone's days, in one transaction
// (db.DB.SetTeamZone).
type SettingsWriter interface {
	SetTeamZone(ctx context.Context, loc *time.Location, audit db.AuditEntry) error
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
	// Spend by day is summed in the team's days, so the sums are rebuilt
	// in the new zone's days with the setting, in one transaction.
	err = settings.SetTeamZone(ctx, loc, db.AuditEntry{
		ActorID: actorID, Action: AuditTeamZone, Subject: loc.String(), IP: ip, Detail: fmt.Sprintf("time_zone=%q", loc.String()),
	})
	if err != nil {
		return nil, err
	}
	return loc, nil
}
