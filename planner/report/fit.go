package report

import (
	"strings"
	"unicode/utf8"
)

// block is one section of a size-limited report. When the whole block does
// not fit, it keeps its head and tail and as many leading rows as fit, and
// omitted(n) stands in for the n rows left out.
type block struct {
	head, tail string
	rows       []string
	omitted    func(n int) string
}

func (b block) size() int {
	n := len(b.head) + len(b.tail)
	for _, r := range b.rows {
		n += len(r)
	}
	return n
}

// minSize is the block with every row left out.
func (b block) minSize() int {
	if len(b.rows) == 0 || b.omitted == nil {
		return b.size()
	}
	return len(b.head) + len(b.omitted(len(b.rows))) + len(b.tail)
}

// fit joins head, the blocks and tail within limit bytes. Blocks are filled
// in order, each keeping room for the shortest form of every block after
// it, so that earlier sections (the ones reviewers need most) keep their
// rows and later ones (the diffs) lose theirs first.
func fit(limit int, head, tail string, blocks []block) string {
	var b strings.Builder
	b.WriteString(head)
	used := len(head) + len(tail)
	reserve := make([]int, len(blocks)+1)
	for i := len(blocks) - 1; i >= 0; i-- {
		reserve[i] = reserve[i+1] + blocks[i].minSize()
	}
	for i, blk := range blocks {
		avail := limit - used - reserve[i+1]
		if s := blk.size(); s <= avail {
			writeBlock(&b, blk, len(blk.rows))
			used += s
			continue
		}
		if blk.minSize() > avail {
			continue // not even the section's heading fits
		}
		n, size, rows := 0, blk.minSize(), 0
		for n < len(blk.rows) {
			rows += len(blk.rows[n])
			next := len(blk.head) + len(blk.tail) + rows + len(blk.omitted(len(blk.rows)-n-1))
			if next > avail {
				break
			}
			n, size = n+1, next
		}
		writeBlock(&b, blk, n)
		used += size
	}
	b.WriteString(tail)
	return truncate(b.String(), limit)
}

func writeBlock(b *strings.Builder, blk block, n int) {
	b.WriteString(blk.head)
	for _, r := range blk.rows[:n] {
		b.WriteString(r)
	}
	if n < len(blk.rows) {
		b.WriteString(blk.omitted(len(blk.rows) - n))
	}
	b.WriteString(blk.tail)
}

// truncate is the last resort when even the fixed parts exceed limit: it
// cuts at a rune boundary.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const note = "\n\n_…truncated._\n"
	cut := max(limit-len(note), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + note[:min(len(note), limit-cut)]
}
