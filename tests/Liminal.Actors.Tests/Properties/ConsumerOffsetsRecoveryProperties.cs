using Akka.Actor;
using CsCheck;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Validation;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Properties;

/// <summary>The consumer-offsets settings a scenario varies.</summary>
public sealed record OffsetsScenarioSettings(long SnapshotEvery, TimeSpan Retention);

/// <summary>
/// A consumer's offsets record (<see cref="ConsumerOffsets.Props"/>) driven through its public protocol: commits forward,
/// equal and backwards over three streams, processed event ids (while the clock moves past their retention), and invalid
/// streams, offsets and event ids.
/// </summary>
public sealed class ConsumerOffsetsUnderTest : IEntityUnderTest<OffsetsScenarioSettings>
{
    private const string Placeholder = "o";
    private static readonly string[] Streams = ["s1", "s2", "s3"];
    private static readonly string[] EventIds = ["e1", "e2", "e3", "e4", "e5"];
    private static readonly string TooLong = new('x', InputRules.StreamName.MaxLength + 1);

    public Gen<OffsetsScenarioSettings> Settings { get; } = Gen.Select(
        Gen.Frequency((5, Gen.Int[1, 4]), (3, Gen.Int[5, 20]), (1, Gen.Const(10_000))),
        Gen.Frequency((2, Gen.Const(TimeSpan.FromMinutes(1))), (1, Gen.Const(TimeSpan.FromDays(7)))),
        (snapshotEvery, retention) => new OffsetsScenarioSettings(snapshotEvery, retention));

    public Gen<object> Command { get; } = BuildCommands();

    // Within and past a one-minute retention.
    public TimeSpan[] ClockAdvances { get; } = [TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(1)];

    private static Gen<object> BuildCommands()
    {
        var stream = Gen.OneOf(Streams);
        var anyStream = Gen.Frequency((20, stream), (1, Gen.Const("")), (1, Gen.Const(TooLong)));
        var offset = Gen.Frequency((20, Gen.Long[0, 12]), (1, Gen.Const(-1L)));
        var eventId = Gen.OneOf(EventIds);
        var anyEventId = Gen.Frequency((20, eventId), (1, Gen.Const("")), (1, Gen.Const(TooLong)));
        return Gen.Frequency(
            (6, Gen.Select(anyStream, offset, (s, o) => (object)new CommitOffset(Placeholder, s, o))),
            (2, stream.Select(s => (object)new GetOffset(Placeholder, s))),
            (4, anyEventId.Select(e => (object)new RecordProcessed(Placeholder, e))),
            (2, eventId.Select(e => (object)new WasProcessed(Placeholder, e))));
    }

    public Props Props(OffsetsScenarioSettings settings, string uniqueId, TimeProvider clock) =>
        // Hosted without its region, which is what passivates an idle record: the idle timeout plays no part.
        ConsumerOffsets.Props(uniqueId, new OffsetsSettings(settings.SnapshotEvery, TimeSpan.FromHours(1), settings.Retention, clock));

    public object Bind(object command, string uniqueId) => command switch
    {
        CommitOffset c => c with { Consumer = uniqueId },
        GetOffset c => c with { Consumer = uniqueId },
        RecordProcessed c => c with { Pipeline = uniqueId },
        WasProcessed c => c with { Pipeline = uniqueId },
        _ => command,
    };

    public IReferenceModel NewModel(OffsetsScenarioSettings settings) => new OffsetsModel(settings);

    public IEnumerable<OffsetsScenarioSettings> Simpler(OffsetsScenarioSettings settings)
    {
        if (settings.Retention < TimeSpan.FromDays(7))
            yield return settings with { Retention = TimeSpan.FromDays(7) };
        if (settings.SnapshotEvery > 1)
            yield return settings with { SnapshotEvery = 1 };
        if (settings.SnapshotEvery > 2)
            yield return settings with { SnapshotEvery = Math.Min(settings.SnapshotEvery - 1, 20) };
    }

    public IEnumerable<object> Simpler(object command)
    {
        object? renamed = command switch
        {
            CommitOffset { Stream: not "s1" } c => c with { Stream = "s1" },
            GetOffset { Stream: not "s1" } c => c with { Stream = "s1" },
            RecordProcessed { EventId: not "e1" } c => c with { EventId = "e1" },
            WasProcessed { EventId: not "e1" } c => c with { EventId = "e1" },
            _ => null,
        };
        if (renamed is not null)
            yield return renamed;
        if (command is CommitOffset { Offset: > 0 } commit)
            yield return commit with { Offset = commit.Offset - 1 };
    }

    public string DescribeSettings(OffsetsScenarioSettings settings) =>
        $"consumer offsets: snapshot-every = {settings.SnapshotEvery}, retention = {Show.Duration(settings.Retention)}";

    public string Describe(object message) => message switch
    {
        CommitOffset c => $"CommitOffset({Show.Text(c.Stream)}, {c.Offset})",
        GetOffset c => $"GetOffset({Show.Text(c.Stream)})",
        RecordProcessed c => $"RecordProcessed({Show.Text(c.EventId)})",
        WasProcessed c => $"WasProcessed({Show.Text(c.EventId)})",
        OffsetCommitted c => $"OffsetCommitted({Show.Text(c.Stream)}, {c.Offset})",
        OffsetRejected r => $"OffsetRejected({Show.Text(r.Stream)}, stored {r.Stored}, attempted {r.Attempted})",
        CurrentOffset c => $"CurrentOffset({Show.Text(c.Stream)}, {(c.Offset is { } o ? o : "none")})",
        ProcessedRecorded p => $"ProcessedRecorded({Show.Text(p.EventId)})",
        ProcessedStatus p => $"ProcessedStatus({Show.Text(p.EventId)}, {p.Processed})",
        OffsetRequestRejected r => $"OffsetRequestRejected({r.Reason})",
        _ => message.ToString() ?? message.GetType().Name,
    };

    /// <summary>
    /// The offsets contract (SPEC §2.4 "Consumer offsets", README) as a stream → offset dictionary and the time each event
    /// id was processed: an id is processed until it is a retention old, then it is new again.
    /// </summary>
    private sealed class OffsetsModel(OffsetsScenarioSettings settings) : IReferenceModel
    {
        private readonly SortedDictionary<string, long> _offsets = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _processedAt = new(StringComparer.Ordinal);
        private readonly SortedSet<string> _streamsUsed = new(StringComparer.Ordinal);
        private readonly SortedSet<string> _eventIdsUsed = new(StringComparer.Ordinal);

        public IReadOnlyList<object> Queries() =>
        [
            .. _streamsUsed.Select(s => (object)new GetOffset(Placeholder, s)),
            .. _eventIdsUsed.Select(e => (object)new WasProcessed(Placeholder, e)),
        ];

        private bool Processed(string eventId, long now) =>
            _processedAt.TryGetValue(eventId, out var at) && at > now - (long)settings.Retention.TotalMilliseconds;

        public string? Check(object command, object reply, long now)
        {
            var expected = Predict(command, now);
            var same = (expected, reply) switch
            {
                // The type is the contract; the reason is free text.
                (OffsetRequestRejected e, OffsetRequestRejected r) => e.Owner == r.Owner,
                _ => Equals(expected, reply),
            };
            return same ? null : $"the model predicted {new ConsumerOffsetsUnderTest().Describe(expected)}";
        }

        private object Predict(object command, long now)
        {
            switch (command)
            {
                case CommitOffset c when !InputRules.StreamName.IsValid(c.Stream) || c.Offset < 0:
                    return new OffsetRequestRejected(c.Consumer, "invalid");
                case CommitOffset c:
                    _streamsUsed.Add(c.Stream);
                    if (_offsets.TryGetValue(c.Stream, out var stored) && c.Offset < stored)
                        return new OffsetRejected(c.Consumer, c.Stream, stored, c.Offset);
                    _offsets[c.Stream] = c.Offset;
                    return new OffsetCommitted(c.Consumer, c.Stream, c.Offset);
                case GetOffset g:
                    _streamsUsed.Add(g.Stream);
                    return new CurrentOffset(g.Consumer, g.Stream, _offsets.TryGetValue(g.Stream, out var offset) ? offset : null);
                case RecordProcessed r when !InputRules.EventId.IsValid(r.EventId):
                    return new OffsetRequestRejected(r.Pipeline, "invalid");
                case RecordProcessed r:
                    _eventIdsUsed.Add(r.EventId);
                    if (!Processed(r.EventId, now))
                        _processedAt[r.EventId] = now;
                    return new ProcessedRecorded(r.Pipeline, r.EventId);
                case WasProcessed w:
                    _eventIdsUsed.Add(w.EventId);
                    return new ProcessedStatus(w.Pipeline, w.EventId, Processed(w.EventId, now));
                default:
                    throw new ArgumentException($"not an offsets command: {command}");
            }
        }
    }
}

/// <summary>The bulk run: many random scenarios on Akka's in-memory journal, restarting the record inside one actor system.</summary>
public sealed class ConsumerOffsetsRecoveryProperties(ITestOutputHelper output) : InMemoryPropertyTestKit(output)
{
    [Fact]
    public void Every_reply_matches_the_model_and_every_committed_offset_and_receipt_survives_restarts() =>
        RecoveryProperty.Check(this, new ConsumerOffsetsUnderTest(), RecoveryProperty.InMemory, Output);
}

/// <summary>The fixed sample on SQLite on disk.</summary>
public sealed class ConsumerOffsetsSqliteRecoveryProperties(ITestOutputHelper output) : LiminalTestKit
{
    [Fact]
    public void The_fixed_sample_holds_on_SQLite_on_disk() =>
        RecoveryProperty.CheckSample(this, new ConsumerOffsetsUnderTest(), RecoveryProperty.Sqlite, output);
}

/// <summary>The same fixed sample on PostgreSQL (unique owners: the database is shared).</summary>
public sealed class ConsumerOffsetsPostgreSqlRecoveryProperties(ITestOutputHelper output) : PostgreSqlTestKit
{
    [SkippableFact]
    public void The_fixed_sample_holds_on_PostgreSQL()
    {
        RequireServer();
        RecoveryProperty.CheckSample(this, new ConsumerOffsetsUnderTest(), RecoveryProperty.PostgreSql, output);
    }
}
