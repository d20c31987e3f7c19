//go:build race

package db

// raceDetector is true under -race, which makes SQLite (C translated to
// Go) about 30 times slower: big fixtures shrink.
const raceDetector = true
