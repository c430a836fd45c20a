// Package version owns package versions: parsing them, the one total order
// in which etk ranks them, and the selectors of requires, conflicts and
// provides (">=0", ">1.3.1", "<1.0.0", ">=1.0 <2.0") that pick versions out
// of that order.
//
// # Versions
//
// A version is written the Debian way, [epoch:]upstream[-revision], and is
// ordered by dpkg's algorithm: digit runs compare as numbers, other runs
// character by character with '~' before the end of the string, the end
// before letters, and letters before other characters. So
//
//	1.0~rc1 < 1.0 < 1.0-1 < 1.0-2 < 1.0+1 < 1.0.1 < 1.1 < 1.10 < 1:0.1
//
// The revision is what follows the last '-' (or '_'): "0.33.0-3" is the
// third packaging of upstream 0.33.0, and "0.0.1-alpha14-16" the sixteenth
// of 0.0.1-alpha14, which is how the elemental-toolkit tree bumps its
// packages.
//
// Semver applies where it does not contradict that: a pre-release word
// (alpha, beta, pre, rc) after '-', '_' or a digit sorts before the release,
// as if written with '~', so 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-rc.1 <
// 1.0.0 and 0.0.1-alpha14-16 < 0.0.1-1. Other words after '-' are
// revisions, as in Debian and Gentoo: 1.0 < 1.0-r1. A "+N" suffix, which
// luet writes when it bumps a build, is not ignored as semver build metadata
// would be: 1.0 < 1.0+1 < 1.0+2 < 1.0.1.
//
// Spellings of the same precedence ("1.0" and "1.00", "1.0" and "0:1.0",
// "1.0-1" and "1.0_1") are distinct versions, adjacent in the order and
// ranked bytewise, so that Compare returns 0 only for identical versions and
// sorting never depends on input order.
//
// # Selectors
//
// A selector is a list of clauses that must all hold; clauses are separated
// by spaces or commas, and an operator may be separated from its version by
// spaces. Operators are >=, >, <=, <, = (also ==), != (also !); a version
// with no operator is an exact match, and "=1.2*" or "1.2*" matches 1.2 and
// every version written with 1.2 as leading components (1.2.3, 1.2-5, not
// 1.20). "", "*" and ">=0" match every version. Clauses compare with the
// same Compare that ranks versions, so "the best version" and "the versions
// a selector admits" never disagree.
//
// # Differences from luet
//
// luet (pkg/versioner) ranks versions with a Debian comparator, which never
// returns when two versions differ only in zero padding ("1.0", "1.00");
// some releases rank as semver instead when every version in the set parses
// as semver, and semver makes "0.33.0-3" a pre-release of 0.33.0, so the
// order of two versions can depend on which others are present. It matches
// selectors with semver after extracting the version with a regular
// expression that, for a version ending in "-N", keeps only N: it reads
// ">0.6.1-1" as ">1", and 0.33.0-3 as 3, so "<1.0.0" rejects 0.33.0-3. It
// ignores "+N" in selectors, answers "no match" for versions it cannot
// parse, lets an empty version satisfy any selector, and reads ">=1.0 <2.0"
// as ">=2.0". etk uses one order everywhere, reads revisions as revisions,
// rejects what it cannot parse with an error, and supports ranges.
package version
