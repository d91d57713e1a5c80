using Liminal.Actors.Persistence;

namespace Liminal.Actors.Offsets;

/// <summary>What an offsets request decided: the one reply, and the events that must be durable before it is sent.</summary>
public sealed record OffsetsOutcome(object Reply, IReadOnlyList<IOffsetsEvent> Events)
{
    public static OffsetsOutcome ReplyOnly(object reply) => new(reply, []);
}

/// <summary>
/// A consumer's positions per stream and the event ids its pipeline processed, each id kept for
/// <c>liminal.offsets.retention</c> after it was processed; folded in place.
/// </summary>
public sealed class OffsetsState
{
    private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal);
    // Each processed id and when it was processed (null: recorded before retention and not yet given a time).
    private readonly Dictionary<string, long?> _processed = new(StringComparer.Ordinal);
    private readonly List<string> _untimed = [];
    private readonly RetentionIndex _byAnchor = new();

    public int Count => _offsets.Count + _processed.Count;

    /// <summary>Decides <paramref name="command"/> at <paramref name="nowMillis"/>; processed ids older than <paramref name="retention"/> count as never processed.</summary>
    public static OffsetsOutcome Decide(OffsetsState state, IOffsetsCommand command, long nowMillis, TimeSpan retention)
    {
        var forgetsUpTo = nowMillis - (long)retention.TotalMilliseconds;
        if (Validation.RequestValidation.Offsets(command) is { } invalid)
            return OffsetsOutcome.ReplyOnly(invalid);

        switch (command)
        {
            case CommitOffset c:
                return state._offsets.TryGetValue(c.Stream, out var stored) switch
                {
                    true when c.Offset < stored => OffsetsOutcome.ReplyOnly(new OffsetRejected(c.Consumer, c.Stream, stored, c.Offset)),
                    true when c.Offset == stored => OffsetsOutcome.ReplyOnly(new OffsetCommitted(c.Consumer, c.Stream, c.Offset)),
                    _ => new OffsetsOutcome(new OffsetCommitted(c.Consumer, c.Stream, c.Offset), [new OffsetAdvanced(c.Stream, c.Offset)]),
                };
            case GetOffset g:
                return OffsetsOutcome.ReplyOnly(new CurrentOffset(g.Consumer, g.Stream,
                    state._offsets.TryGetValue(g.Stream, out var offset) ? offset : null));
            case RecordProcessed r:
                return state.Holds(r.EventId, forgetsUpTo)
                    ? OffsetsOutcome.ReplyOnly(new ProcessedRecorded(r.Pipeline, r.EventId))
                    : new OffsetsOutcome(new ProcessedRecorded(r.Pipeline, r.EventId),
                        [new EventProcessed(r.EventId) { ProcessedAtMillis = nowMillis, ForgetsUpToMillis = forgetsUpTo }]);
            case WasProcessed w:
                return OffsetsOutcome.ReplyOnly(new ProcessedStatus(w.Pipeline, w.EventId, state.Holds(w.EventId, forgetsUpTo)));
            default:
                throw new ArgumentException($"Not an offsets command: {command.GetType().Name}", nameof(command));
        }
    }

    /// <summary>Processed and not yet past the retention (also before the next record drops it).</summary>
    private bool Holds(string eventId, long forgetsUpTo) =>
        _processed.TryGetValue(eventId, out var processedAt) && (processedAt is null || processedAt > forgetsUpTo);

    /// <summary>Folds one event in place; applying an event twice changes nothing, and an offset never moves back.</summary>
    public static OffsetsState Apply(OffsetsState state, IOffsetsEvent @event)
    {
        switch (@event)
        {
            case OffsetAdvanced advanced:
                if (!state._offsets.TryGetValue(advanced.Stream, out var stored) || advanced.Offset > stored)
                    state._offsets[advanced.Stream] = advanced.Offset;
                break;
            case EventProcessed { ProcessedAtMillis: { } processedAt } processed:
                if (processed.ForgetsUpToMillis is { } cutoff)
                    state._byAnchor.RemoveUpTo(cutoff, id => state._processed.Remove(id));
                // Ids recorded before retention count theirs from the first record that carries a time.
                foreach (var id in state._untimed)
                    state.Stamp(id, processedAt);
                state._untimed.Clear();
                state.Stamp(processed.EventId, processedAt);
                break;
            case EventProcessed processed:
                if (state._processed.TryAdd(processed.EventId, null))
                    state._untimed.Add(processed.EventId);
                break;
        }
        return state;
    }

    private void Stamp(string eventId, long processedAt)
    {
        if (_processed.TryGetValue(eventId, out var previous) && previous is { } anchored)
            _byAnchor.Move(eventId, anchored, processedAt);
        else
            _byAnchor.Add(eventId, processedAt);
        _processed[eventId] = processedAt;
    }

    public OffsetsSnapshot ToSnapshot() =>
        new(new Dictionary<string, long>(_offsets), _processed.Keys.ToArray()) { ProcessedAtMillis = _processed.Values.ToArray() };

    public static OffsetsState FromSnapshot(OffsetsSnapshot snapshot)
    {
        var state = new OffsetsState();
        foreach (var (stream, offset) in snapshot.Offsets)
            state._offsets[stream] = offset;
        for (var i = 0; i < snapshot.Processed.Length; i++)
        {
            var processedAt = snapshot.ProcessedAtMillis?[i];
            state._processed[snapshot.Processed[i]] = processedAt;
            if (processedAt is { } anchor)
                state._byAnchor.Add(snapshot.Processed[i], anchor);
            else
                state._untimed.Add(snapshot.Processed[i]);
        }
        return state;
    }
}
