package image

// group cuts the packages with artefacts, in order, into the units of the
// layers (see Grouping in the package doc): a unit each, or with maxLayers
// below their count, the last maxLayers/2 alone and the rest in
// maxLayers-maxLayers/2 runs of equal count, longer runs first.
func group(pkgs []Layer, maxLayers int, tempDir string) []*unit {
	var real []Layer
	for _, p := range pkgs {
		if p.Artefact != nil {
			real = append(real, p)
		}
	}
	var units []*unit
	for _, r := range runs(len(real), maxLayers) {
		units = append(units, &unit{pkgs: real[r[0]:r[1]], tempDir: tempDir})
	}
	return units
}

// runs returns the [start, end) bounds of the runs of n packages.
func runs(n, maxLayers int) [][2]int {
	var rs [][2]int
	if maxLayers <= 0 || maxLayers >= n {
		for i := range n {
			rs = append(rs, [2]int{i, i + 1})
		}
		return rs
	}
	alone := maxLayers / 2
	head, headRuns := n-alone, maxLayers-alone
	start := 0
	for i := range headRuns {
		size := head / headRuns
		if i < head%headRuns {
			size++
		}
		rs = append(rs, [2]int{start, start + size})
		start += size
	}
	for ; start < n; start++ {
		rs = append(rs, [2]int{start, start + 1})
	}
	return rs
}
