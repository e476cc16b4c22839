package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCluster runs a small cluster and checks that it says all nodes
// converged with equal fingerprints, and that it wrote a PNG plot with one
// line per node in the colours of the legend.
func TestCluster(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cluster.png")
	var summary bytes.Buffer
	args := []string{"-nodes", "4", "-docs", "5", "-spread", "200ms", "-out", out}
	if err := run(context.Background(), args, &summary); err != nil {
		t.Fatalf("cluster: %v\n%s", err, summary.String())
	}
	t.Logf("cluster printed:\n%s", summary.String())
	for _, want := range []string{
		"cluster: 20 documents written in ",
		"cluster: node 4 held all 20 documents after ",
		"cluster: all 4 nodes converged ",
		"; fingerprints agree (",
		"cluster: plot written to " + out,
	} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", out, err)
	}
	if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 672 {
		t.Errorf("plot is %dx%d, want 960x672 (10x7 inches at 96 dpi)", b.Dx(), b.Dy())
	}
	// Every node's line is drawn in its colour somewhere in the image.
	seen := map[[3]uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	for i, c := range colors[:4] {
		if !seen[[3]uint32{uint32(c.R), uint32(c.G), uint32(c.B)}] {
			t.Errorf("no pixel in the colour of node %d (%v)", i+1, c)
		}
	}
}
