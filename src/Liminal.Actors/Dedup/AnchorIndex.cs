namespace Liminal.Actors.Dedup;

/// <summary>
/// A shard's entries ordered by anchor time, then key, oldest first: the order expiry and eviction take them in.
/// </summary>
/// <remarks>
/// An entry's anchor is the time it was written, so entries arrive almost always in order and an insert is an
/// append; the few that do not (a smaller key in the same millisecond, a clock stepping back) are inserted in
/// place. Removal is lazy: an item whose entry is no longer current (per <c>isCurrent</c>, which
/// <see cref="DedupShardState"/> answers by reference against its map) is skipped, and dropped once such items
/// outnumber the live ones. Two sorted trees cost a claim and its completion six rebalancing inserts and removals
/// per state copy; this costs three appends.
/// </remarks>
internal sealed class AnchorIndex(Func<DedupEntry, bool> isCurrent)
{
    private static readonly IComparer<DedupEntry> ByAnchorThenKey = Comparer<DedupEntry>.Create((a, b) =>
    {
        var byTime = a.AnchorMillis.CompareTo(b.AnchorMillis);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.Key, b.Key);
    });

    private readonly List<DedupEntry> _items = [];
    private int _head;
    private int _retiredAfterHead;

    public void Add(DedupEntry entry)
    {
        if (_items.Count == _head || ByAnchorThenKey.Compare(_items[^1], entry) <= 0)
        {
            _items.Add(entry);
            return;
        }
        var at = _items.BinarySearch(_head, _items.Count - _head, entry, ByAnchorThenKey);
        _items.Insert(at < 0 ? ~at : at, entry);
    }

    /// <summary>Counts one entry of this index as no longer current (called after the owner has replaced or removed it).</summary>
    public void Retired()
    {
        _retiredAfterHead++;
        while (_head < _items.Count && !isCurrent(_items[_head]))
        {
            _head++;
            _retiredAfterHead--;
        }
        var live = _items.Count - _head - _retiredAfterHead;
        if (_head + _retiredAfterHead > Math.Max(1024, live))
            Compact();
    }

    /// <summary>The current entries, oldest first.</summary>
    public IEnumerable<DedupEntry> Oldest()
    {
        for (var i = _head; i < _items.Count; i++)
        {
            if (isCurrent(_items[i]))
                yield return _items[i];
        }
    }

    // In place, without a second list as large as the shard.
    private void Compact()
    {
        var kept = 0;
        for (var i = _head; i < _items.Count; i++)
        {
            if (isCurrent(_items[i]))
                _items[kept++] = _items[i];
        }
        _items.RemoveRange(kept, _items.Count - kept);
        _head = 0;
        _retiredAfterHead = 0;
    }
}
