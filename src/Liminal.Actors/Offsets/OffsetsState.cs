namespace Liminal.Actors.Offsets;

/// <summary>What an offsets request decided: the one reply, and the events that must be durable before it is sent.</summary>
public sealed record OffsetsOutcome(object Reply, IReadOnlyList<IOffsetsEvent> Events)
{
    public static OffsetsOutcome ReplyOnly(object reply) => new(reply, []);
}

/// <summary>A consumer's positions per stream and the event ids its pipeline processed; folded in place.</summary>
public sealed class OffsetsState
{
    public const int MaxNameLength = 1024;

    private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processed = new(StringComparer.Ordinal);

    public int Count => _offsets.Count + _processed.Count;

    public static bool IsValidName(string? name) => !string.IsNullOrEmpty(name) && name.Length <= MaxNameLength;

    public static OffsetsOutcome Decide(OffsetsState state, IOffsetsCommand command)
    {
        if (!IsValidName(command.Owner))
            return Reject(command, $"consumer or pipeline name must be 1 to {MaxNameLength} characters");

        switch (command)
        {
            case CommitOffset c when !IsValidName(c.Stream):
                return Reject(command, $"stream name must be 1 to {MaxNameLength} characters");
            case CommitOffset { Offset: < 0 } c:
                return Reject(command, $"offset {c.Offset} is negative");
            case CommitOffset c:
                return state._offsets.TryGetValue(c.Stream, out var stored) switch
                {
                    true when c.Offset < stored => OffsetsOutcome.ReplyOnly(new OffsetRejected(c.Consumer, c.Stream, stored, c.Offset)),
                    true when c.Offset == stored => OffsetsOutcome.ReplyOnly(new OffsetCommitted(c.Consumer, c.Stream, c.Offset)),
                    _ => new OffsetsOutcome(new OffsetCommitted(c.Consumer, c.Stream, c.Offset), [new OffsetAdvanced(c.Stream, c.Offset)]),
                };
            case GetOffset g:
                return OffsetsOutcome.ReplyOnly(new CurrentOffset(g.Consumer, g.Stream,
                    state._offsets.TryGetValue(g.Stream ?? string.Empty, out var offset) ? offset : null));
            case RecordProcessed r when !IsValidName(r.EventId):
                return Reject(command, $"event id must be 1 to {MaxNameLength} characters");
            case RecordProcessed r:
                return state._processed.Contains(r.EventId)
                    ? OffsetsOutcome.ReplyOnly(new ProcessedRecorded(r.Pipeline, r.EventId))
                    : new OffsetsOutcome(new ProcessedRecorded(r.Pipeline, r.EventId), [new EventProcessed(r.EventId)]);
            case WasProcessed w:
                return OffsetsOutcome.ReplyOnly(new ProcessedStatus(w.Pipeline, w.EventId, w.EventId is not null && state._processed.Contains(w.EventId)));
            default:
                throw new ArgumentException($"Not an offsets command: {command.GetType().Name}", nameof(command));
        }
    }

    private static OffsetsOutcome Reject(IOffsetsCommand command, string reason) =>
        OffsetsOutcome.ReplyOnly(new OffsetRequestRejected(command.Owner ?? string.Empty, reason));

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
