namespace Liminal.Actors.Persistence;

/// <summary>
/// Ids ordered by their retention anchor (a time in Unix milliseconds), oldest first: what a long-running entity
/// forgets once an anchor is a retention in the past. The anchors come from events, so replay builds the same index.
/// </summary>
internal sealed class RetentionIndex
{
    private readonly SortedSet<(long Anchor, string Id)> _byAnchor = new(AnchorThenId.Instance);

    public int Count => _byAnchor.Count;

    public void Add(string id, long anchor) => _byAnchor.Add((anchor, id));

    public void Move(string id, long from, long to)
    {
        if (from == to)
            return;
        _byAnchor.Remove((from, id));
        _byAnchor.Add((to, id));
    }

    /// <summary>Removes every id anchored at or before <paramref name="cutoff"/>, telling <paramref name="forget"/> each, oldest first.</summary>
    public void RemoveUpTo(long cutoff, Action<string> forget)
    {
        while (_byAnchor.Count > 0 && _byAnchor.Min is var (anchor, id) && anchor <= cutoff)
        {
            _byAnchor.Remove((anchor, id));
            forget(id);
        }
    }

    private sealed class AnchorThenId : IComparer<(long Anchor, string Id)>
    {
        public static readonly AnchorThenId Instance = new();

        public int Compare((long Anchor, string Id) x, (long Anchor, string Id) y)
        {
            var byAnchor = x.Anchor.CompareTo(y.Anchor);
            return byAnchor != 0 ? byAnchor : string.CompareOrdinal(x.Id, y.Id);
        }
    }
}
