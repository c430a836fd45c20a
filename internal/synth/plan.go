package synth

import (
	"fmt"
	"math/rand/v2"
)

// Shares of the tree's shape. They follow the elemental tree loosely: most
// packages carry includes, a few unpack or use package_dir, few are hidden.
const (
	pairShare      = 0.03 // standalone units that are one package in two versions
	hiddenShare    = 0.03
	unpackShare    = 0.03
	pkgDirShare    = 0.03
	includesShare  = 0.35
	excludesShare  = 0.15
	preludeShare   = 0.30 // prelude through {{template "distro_install"}}
	commonEnvShare = 0.30 // env through {{include "common_env"}}
	fetchShare     = 0.20 // prelude through {{template "fetch_source"}}
	copyShare      = 0.05
	providesShare  = 0.02
	finalizeShare  = 0.02
	conflictShare  = 0.01 // packages that declare a conflict
	concreteShare  = 0.40 // selectors other than ">=0" where the version allows one
	uniformShare   = 0.30 // requirements drawn uniformly rather than towards the roots
)

type kind uint8

const (
	single kind = iota
	pair        // two versions of one package, in sibling directories
	collection
)

// ref is a requirement on the package pkgs[to]; sel is written so that, of
// the versions in the tree, it resolves to exactly that package.
type ref struct {
	to  int
	sel string
}

type pkg struct {
	unit     int
	cat      string
	name     string
	version  string
	quote    bool   // write the version quoted
	concrete string // a selector other than ">=0" this version satisfies, or ""
	hidden   bool

	build     []ref // build.yaml requires; for collection entries only the entry's own
	runtime   []ref
	copy      *ref
	conflicts []int
	provides  bool

	// Values the build.yaml template reads.
	upstream string
	flavor   string
	features []string

	// build.yaml shape of standalone packages.
	image                     string // values key of the base image; roots only
	unpack, pkgDir            bool
	includes, excludes        bool
	prelude, commonEnv, fetch bool
	finalize                  bool
}

type unit struct {
	kind  kind
	first int // index of the unit's first package
	n     int
	cat   string
	dir   string
	root  bool
	chain bool
	build []ref // a collection's shared build requires
	bang  bool  // write merge keys as "!!merge <<:", as a YAML round trip does
}

type tree struct {
	cfg   Config
	rng   *rand.Rand
	pkgs  []pkg
	units []unit
	cats  []string
	roots int // the first roots packages are built from an image
}

var (
	words = []string{
		"zlib", "openssl", "curl", "grub", "kernel", "dracut", "systemd", "busybox",
		"coreutils", "yip", "immutable-rootfs", "cloud-config", "firmware", "shim",
		"network", "selinux", "livecd", "toolchain", "golang", "rust", "python",
		"perl", "ncurses", "readline", "util-linux", "e2fsprogs", "lvm2", "mdadm",
		"cryptsetup", "squashfs", "syslinux", "base-dracut", "cos-setup", "recovery",
		"installer", "iso-tools", "agent", "sysext", "os-release", "boot-assessment",
	}
	flavors  = []string{"full", "minimal", "fips", "debug"}
	features = []string{"selinux", "tpm", "uefi", "bios", "lvm", "raid", "nfs", "iscsi"}
	licenses = []string{"Apache-2.0", "MIT", "GPL-2.0-only", "BSD-3-Clause"}
	autobump = []string{"git_tag", "release", "snapshot", "custom"}
)

func newTree(cfg Config) *tree {
	cfg.Packages = max(cfg.Packages, 0)
	cfg.Categories = max(cfg.Categories, 1)
	cfg.CollectionFraction = min(max(cfg.CollectionFraction, 0), 1)
	cfg.MaxRequires = max(cfg.MaxRequires, 0)
	cfg.ContextFiles = max(cfg.ContextFiles, 0)
	cfg.Chain = max(cfg.Chain, 0)
	t := &tree{
		cfg:  cfg,
		rng:  rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed_e7c0)),
		pkgs: make([]pkg, 0, cfg.Packages+cfg.Chain),
	}
	width := max(2, len(fmt.Sprint(cfg.Categories-1)))
	for i := range cfg.Categories {
		t.cats = append(t.cats, fmt.Sprintf("cat%0*d", width, i))
	}
	t.roots = min(cfg.Packages, 2+cfg.Packages/1000, 8)
	if cfg.MaxRequires == 0 {
		t.roots = cfg.Packages
	}
	t.plan()
	t.planConflicts()
	t.planChain()
	return t
}

func (t *tree) chance(p float64) bool { return t.rng.Float64() < p }

// plan lays out the main tree as units: the first few are standalone roots
// built from an image, the rest mix standalone packages, two-version pairs
// and collections so that CollectionFraction of the packages live in
// collections.
func (t *tree) plan() {
	n, roots := t.cfg.Packages, t.roots
	inColl := int(t.cfg.CollectionFraction*float64(n-roots) + 0.5)
	if inColl == 1 {
		inColl = 0
	}
	alone := n - inColl
	for len(t.pkgs) < n {
		switch {
		case len(t.pkgs) < roots || alone > 0 && t.rng.IntN(alone+inColl) < alone:
			k := 1
			if len(t.pkgs) >= roots && alone >= 2 && t.chance(pairShare) {
				k = 2
			}
			t.addStandalone(k)
			alone -= k
		default:
			k := min(2+t.rng.IntN(7), inColl)
			if inColl-k == 1 {
				if k < 8 {
					k++
				} else {
					k--
				}
			}
			t.addCollection(k)
			inColl -= k
		}
	}
}

func (t *tree) newUnit(k kind, n int, cat, dir string) *unit {
	t.units = append(t.units, unit{kind: k, first: len(t.pkgs), n: n, cat: cat, dir: dir})
	u := &t.units[len(t.units)-1]
	u.root = u.first < t.roots
	return u
}

func (t *tree) word() string { return words[t.rng.IntN(len(words))] }

func (t *tree) addStandalone(k int) {
	cat := t.cats[t.rng.IntN(len(t.cats))]
	name := fmt.Sprintf("%s-%d", t.word(), len(t.pkgs))
	kd := single
	if k == 2 {
		kd = pair
	}
	u := t.newUnit(kd, k, cat, "packages/"+cat+"/"+name)
	ui := len(t.units) - 1
	for i := range k {
		p := pkg{unit: ui, cat: cat, name: name}
		if kd == pair {
			// 1.x and 2.x, so that "<2" and ">=2.0" each pick one.
			p.version = fmt.Sprintf("%d.%d.%d", i+1, 1+t.rng.IntN(12), t.rng.IntN(10))
			p.quote = t.chance(0.5)
			if i == 0 {
				p.concrete = "<2"
			} else {
				p.concrete = ">=2.0"
			}
		} else {
			t.version(&p)
		}
		t.values(&p)
		if u.root {
			p.image = "image"
			if len(t.pkgs) == 1 {
				// Like elemental's distro/tool: a hidden builder base.
				p.image, p.hidden = "tool_image", true
			}
			p.unpack = true
		} else {
			p.build = t.pickRefs(u.first, 1+t.rng.IntN(t.cfg.MaxRequires), false, nil)
			p.runtime = t.runtimeFrom(p.build, u.first)
			p.hidden = kd == single && t.chance(hiddenShare)
			switch r := t.rng.Float64(); {
			case r < unpackShare:
				p.unpack = true
			case r < unpackShare+pkgDirShare:
				p.pkgDir = true
			default:
				p.includes = t.chance(includesShare)
			}
			p.excludes = !p.pkgDir && t.chance(excludesShare)
			p.prelude = t.chance(preludeShare)
			p.fetch = t.chance(fetchShare)
			p.commonEnv = t.chance(commonEnvShare)
			if kd == single && t.chance(copyShare) {
				if c := t.pickRefs(u.first, 1, false, p.build); len(c) == 1 {
					p.copy = &c[0]
				}
			}
		}
		p.provides = kd == single && t.chance(providesShare)
		p.finalize = t.chance(finalizeShare)
		t.pkgs = append(t.pkgs, p)
	}
}

func (t *tree) addCollection(k int) {
	cat := t.cats[t.rng.IntN(len(t.cats))]
	dir := fmt.Sprintf("packages/%s/%s-set-%d", cat, t.word(), len(t.pkgs))
	u := t.newUnit(collection, k, cat, dir)
	u.bang = t.chance(0.3)
	ui := len(t.units) - 1
	if !u.root {
		u.build = t.pickRefs(u.first, 1+t.rng.IntN(t.cfg.MaxRequires), false, nil)
	}
	for i := range k {
		idx := len(t.pkgs)
		p := pkg{unit: ui, cat: cat, name: fmt.Sprintf("%s-%d", t.word(), idx)}
		t.version(&p)
		t.values(&p)
		if !u.root && len(u.build) < t.cfg.MaxRequires && t.chance(0.3) {
			p.build = t.pickRefs(u.first, 1, false, u.build)
		}
		switch {
		case u.root:
		case i == 0:
			if t.chance(0.5) {
				p.runtime = t.pickRefs(u.first, 1+t.rng.IntN(min(2, t.cfg.MaxRequires)), true, nil)
			}
		default:
			// Inherited from the first entry through the merge key, unless
			// the entry has its own; those may name earlier siblings, as
			// luet-makeiso requires luet in elemental's toolchain collection.
			p.runtime = t.pkgs[u.first].runtime
			if t.chance(0.4) {
				if own := t.pickRefs(idx, 1+t.rng.IntN(min(2, t.cfg.MaxRequires)), true, nil); len(own) > 0 {
					p.runtime = own
				}
			}
		}
		p.hidden = i > 0 && t.chance(hiddenShare)
		t.pkgs = append(t.pkgs, p)
	}
}

// version gives p a version in one of the shapes of the elemental tree, and
// the concrete selector it satisfies. Concrete selectors stay strictly below
// the version's main part, so semver and Debian-style comparisons of the
// revision suffix agree on them.
func (t *tree) version(p *pkg) {
	p.quote = t.chance(0.5)
	switch r := t.rng.IntN(20); {
	case r < 10: // 1.2.3
		ma, mi := t.rng.IntN(5), 1+t.rng.IntN(12)
		p.version = fmt.Sprintf("%d.%d.%d", ma, mi, t.rng.IntN(10))
		if ma > 0 {
			p.concrete = fmt.Sprintf(">=%d.0", ma)
		} else {
			p.concrete = ">0.0.1"
		}
	case r < 13: // 0.0.1-4
		p.version = fmt.Sprintf("0.0.%d-%d", 1+t.rng.IntN(9), 1+t.rng.IntN(20))
	case r < 16: // 0.33.0-3
		ma, mi := t.rng.IntN(2), 2+t.rng.IntN(40)
		p.version = fmt.Sprintf("%d.%d.%d-%d", ma, mi, t.rng.IntN(10), 1+t.rng.IntN(20))
		p.concrete = fmt.Sprintf(">=%d.%d", ma, mi-1)
	case r < 19: // 2021.01-5.1
		y := 2018 + t.rng.IntN(7)
		p.version = fmt.Sprintf("%d.%02d-%d.%d", y, 1+t.rng.IntN(12), 1+t.rng.IntN(9), 1+t.rng.IntN(3))
		p.concrete = fmt.Sprintf(">=%d", y)
	default: // 0.20230106: a float unless quoted
		p.version = fmt.Sprintf("0.%d%02d%02d", 2018+t.rng.IntN(7), 1+t.rng.IntN(12), 1+t.rng.IntN(28))
		p.quote = true
	}
}

func (t *tree) values(p *pkg) {
	p.upstream = p.version
	for i, c := range p.upstream {
		if c == '-' {
			p.upstream = p.upstream[:i]
			break
		}
	}
	if t.chance(0.5) {
		p.flavor = flavors[t.rng.IntN(len(flavors))]
	}
	for _, f := range features {
		if t.chance(0.15) {
			p.features = append(p.features, f)
		}
	}
}

// pick draws a package index below lo: a share uniformly, the rest skewed
// towards the first packages, which keeps build closures in the tens to
// hundreds as in real trees rather than spanning the whole tree.
func (t *tree) pick(lo int) int {
	if t.chance(uniformShare) {
		return t.rng.IntN(lo)
	}
	u := t.rng.Float64()
	return int(float64(lo) * u * u)
}

// key identifies a package by name: both versions of a pair share it.
func (t *tree) key(i int) int {
	if u := &t.units[t.pkgs[i].unit]; u.kind == pair {
		return u.first
	}
	return i
}

// pickRefs draws up to n requirements on distinct packages below lo that are
// not named in avoid; runtime requirements skip hidden packages.
func (t *tree) pickRefs(lo, n int, runtime bool, avoid []ref) []ref {
	if lo == 0 || n <= 0 {
		return nil
	}
	var refs []ref
outer:
	for try := 0; len(refs) < n && try < 4*n+4; try++ {
		j := t.pick(lo)
		if runtime && t.pkgs[j].hidden {
			continue
		}
		k := t.key(j)
		for _, r := range refs {
			if t.key(r.to) == k {
				continue outer
			}
		}
		for _, r := range avoid {
			if t.key(r.to) == k {
				continue outer
			}
		}
		refs = append(refs, ref{to: j, sel: t.selector(j)})
	}
	return refs
}

func (t *tree) selector(j int) string {
	p := &t.pkgs[j]
	if u := &t.units[p.unit]; u.kind == pair && j == u.first {
		return p.concrete // ">=0" would pick the newer version
	}
	if p.concrete != "" && t.chance(concreteShare) {
		return p.concrete
	}
	return ">=0"
}

// runtimeFrom picks runtime requires of a standalone package: mostly some of
// its build requires, sometimes one more.
func (t *tree) runtimeFrom(build []ref, lo int) []ref {
	var rt []ref
	for _, r := range build {
		if !t.pkgs[r.to].hidden && t.chance(0.3) {
			rt = append(rt, r)
		}
	}
	if len(rt) < t.cfg.MaxRequires && t.chance(0.15) {
		rt = append(rt, t.pickRefs(lo, 1, true, rt)...)
	}
	return rt
}

// planConflicts pairs packages that nothing requires or copies, so that a
// conflict never makes another package uninstallable.
func (t *tree) planConflicts() {
	used := make([]bool, len(t.pkgs))
	mark := func(rs []ref) {
		for _, r := range rs {
			used[r.to] = true
		}
	}
	for i := range t.pkgs {
		p := &t.pkgs[i]
		mark(p.build)
		mark(p.runtime)
		if p.copy != nil {
			used[p.copy.to] = true
		}
	}
	for _, u := range t.units {
		mark(u.build)
	}
	var free []int
	for i := range t.pkgs {
		u := &t.units[t.pkgs[i].unit]
		if !used[i] && u.kind == single && !u.root && !t.pkgs[i].hidden {
			free = append(free, i)
		}
	}
	t.rng.Shuffle(len(free), func(a, b int) { free[a], free[b] = free[b], free[a] })
	pairs := min(len(free)/2, int(conflictShare*float64(len(t.pkgs))+0.5))
	for i := range pairs {
		a, b := free[2*i], free[2*i+1]
		if a < b {
			a, b = b, a
		}
		t.pkgs[a].conflicts = append(t.pkgs[a].conflicts, b)
	}
}

// planChain adds chain/top and the Chain-1 packages of its build closure:
// each node requires its predecessor and up to three older nodes.
func (t *tree) planChain() {
	if t.cfg.Chain == 0 {
		return
	}
	first := len(t.pkgs)
	for i := range t.cfg.Chain {
		name := fmt.Sprintf("node-%04d", i)
		if i == t.cfg.Chain-1 {
			name = "top"
		}
		u := t.newUnit(single, 1, "chain", "packages/chain/"+name)
		u.chain, u.root = true, i == 0
		p := pkg{unit: len(t.units) - 1, cat: "chain", name: name}
		t.version(&p)
		t.values(&p)
		idx := first + i
		if u.root {
			p.image, p.unpack = "image", true
		} else {
			p.build = []ref{{to: idx - 1, sel: t.selector(idx - 1)}}
			for range t.rng.IntN(4) {
				j := first + t.rng.IntN(i)
				dup := false
				for _, r := range p.build {
					dup = dup || r.to == j
				}
				if !dup {
					p.build = append(p.build, ref{to: j, sel: t.selector(j)})
				}
			}
			p.includes = true
		}
		t.pkgs = append(t.pkgs, p)
	}
}
