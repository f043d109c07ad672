package queue

// The committer's loop: how operations are grouped into transactions.
//
// While the syncer waits on the disk, the committer collects the operations
// that arrive. It commits the group as soon as the syncer is free, so that
// the group's sync starts at once, or earlier, while the sync is still under
// way, once the group is large (pipelineOps operations or pipelineBytes of
// bodies): a large group's transaction then overlaps the sync instead of
// following it. A group never exceeds maxGroup operations or maxGroupBytes
// of bodies (a single larger batch goes alone).
//
// Committing every group at once instead, whenever the committer is free,
// was measured: with 50 clients it made transactions of 1.6 operations
// each, 60 times as many as syncs, and each one writes whole pages to the
// WAL; ingestd's CPU per request rose by half.

// pipelineOps and pipelineBytes are the sizes at which a group is committed
// while the syncer is still busy.
const (
	pipelineOps   = 128
	pipelineBytes = 512 << 10
)

// commitLoop is the single writer: it groups the waiting operations,
// commits each group in one transaction and hands it to the syncer.
func (q *Queue) commitLoop() {
	defer close(q.committed)
	var carry *op // the operation that did not fit in the last group
	for {
		first := carry
		if first == nil {
			o, ok := <-q.ops
			if !ok {
				return
			}
			first = o
		}
		var group []*op
		group, carry = q.collect(first)
		q.inflight.Add(1)
		q.commit(group)
	}
}

// collect starts a group with first and adds operations to it: those
// already waiting, and while the syncer is busy and the group is small,
// those that arrive until the syncer is free. The operation that would
// take the group past maxGroupBytes is returned to start the next one.
func (q *Queue) collect(first *op) (group []*op, carry *op) {
	g := grouping{group: append(make([]*op, 0, 64), first), size: first.size, max: q.maxGroupBytes}
	for !g.full() {
		select {
		case o, ok := <-q.ops:
			if !ok {
				return g.group, nil
			}
			if !g.add(o) {
				return g.group, o
			}
			continue
		default:
		}
		// Nothing more is waiting.
		if q.inflight.Load() == 0 || g.large() {
			return g.group, nil
		}
		select {
		case o, ok := <-q.ops:
			if !ok {
				return g.group, nil
			}
			if !g.add(o) {
				return g.group, o
			}
		case <-q.syncIdle:
		}
	}
	return g.group, nil
}

// grouping is a group being collected.
type grouping struct {
	group []*op
	size  int64 // body bytes
	max   int64 // maxGroupBytes
}

// add adds o, or reports false when o's body would take the group past
// its byte bound.
func (g *grouping) add(o *op) bool {
	if g.size+o.size > g.max {
		return false
	}
	g.group = append(g.group, o)
	g.size += o.size
	return true
}

// full reports that the group takes no more operations.
func (g *grouping) full() bool { return len(g.group) >= maxGroup || g.size >= g.max }

// large reports that the group is worth committing while a sync runs.
func (g *grouping) large() bool { return len(g.group) >= pipelineOps || g.size >= pipelineBytes }
