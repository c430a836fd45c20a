// Package forge builds hostile repositories for tests: folder
// repositories signed with the real signing code (repository.Publish,
// a real key), whose artefacts and metadata say what a test wants, true
// or not. Artefacts are tar streams written entry by entry as given (no
// sorting, no checks) and compressed with zstd; Bomb writes a stream of
// zeros as zstd RLE blocks, 4 bytes per 128 KiB, so a 20 GiB file fits in
// 655 KB and costs nothing to make. Rollback and Corrupt then play the
// mirror that serves an old revision or other bytes.
package forge
