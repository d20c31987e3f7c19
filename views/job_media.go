package views

// JobResult is what a job page shows around a result: the character image
// beside the player, where the inputs came from, and the way to the
// results before and after it.
type JobResult struct {
	// CharacterSrc is the kept copy of the character image
	// (/media/:id/image), or "" when none was kept.
	CharacterSrc string
	// CharacterLink is the member's own link to it (shown when no copy was
	// kept, or after it).
	CharacterLink string
	// VideoFacts is what the probe learned of the motion video ("12 s").
	VideoFacts string
	// MadeBy names who made it ("you" on one's own).
	MadeBy string
	// UseCharacterURL is New swap with only the image prefilled.
	UseCharacterURL string
	// NewerURL and OlderURL are the results before and after this one
	// (newest first), carrying the list's query; "" at either end.
	NewerURL, OlderURL string
	// ShowLedger is false for teammates looking at someone else's result:
	// they see what it cost, not the member's ledger lines.
	ShowLedger bool
}
