namespace Liminal.Actors.Offsets;

/// <summary>What an offsets request decided: the one reply, and the events that must be durable before it is sent.</summary>
public sealed record OffsetsOutcome(object Reply, IReadOnlyList<IOffsetsEvent> Events)
{
    public static OffsetsOutcome ReplyOnly(object reply) => new(reply, []);
}

/// <summary>A consumer's positions per stream and the event ids its pipeline processed; folded in place.</summary>
public sealed class OffsetsState
{
    private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processed = new(StringComparer.Ordinal);

    public int Count => _offsets.Count + _processed.Count;

    public static OffsetsOutcome Decide(OffsetsState state, IOffsetsCommand command)
    {
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
                return state._processed.Contains(r.EventId)
                    ? OffsetsOutcome.ReplyOnly(new ProcessedRecorded(r.Pipeline, r.EventId))
                    : new OffsetsOutcome(new ProcessedRecorded(r.Pipeline, r.EventId), [new EventProcessed(r.EventId)]);
            case WasProcessed w:
                return OffsetsOutcome.ReplyOnly(new ProcessedStatus(w.Pipeline, w.EventId, state._processed.Contains(w.EventId)));
            default:
                throw new ArgumentException($"Not an offsets command: {command.GetType().Name}", nameof(command));
        }
    }

    /// <summary>Folds one event in place; applying an event twice changes nothing, and an offset never moves back.</summary>
    public static OffsetsState Apply(OffsetsState state, IOffsetsEvent @event)
    {
        switch (@event)
        {
            case OffsetAdvanced advanced:
                if (!state._offsets.TryGetValue(advanced.Stream, out var stored) || advanced.Offset > stored)
                    state._offsets[advanced.Stream] = advanced.Offset;
                break;
            case EventProcessed processed:
                state._processed.Add(processed.EventId);
                break;
        }
        return state;
    }

    public OffsetsSnapshot ToSnapshot() => new(new Dictionary<string, long>(_offsets), _processed.ToArray());

    public static OffsetsState FromSnapshot(OffsetsSnapshot snapshot)
    {
        var state = new OffsetsState();
        foreach (var (stream, offset) in snapshot.Offsets)
            state._offsets[stream] = offset;
        state._processed.UnionWith(snapshot.Processed);
        return state;
    }
}
