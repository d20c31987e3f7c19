package db

// SessionUserQuery lets the external tests check the plan of the one query
// every request runs.
const SessionUserQuery = sessionUserQuery

// LedgerSums is the per-member ledger sum in balance-row terms, for
// benchmarks that seed the ledger directly and must rebuild the rows.
const LedgerSums = ledgerSums

// RaceDetector reports a -race build.
const RaceDetector = raceDetector
