package db

// SessionUserQuery lets the external tests check the plan of the one query
// every request runs.
const SessionUserQuery = sessionUserQuery
