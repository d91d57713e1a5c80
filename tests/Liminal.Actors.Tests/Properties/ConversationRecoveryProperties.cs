using Akka.Actor;
using CsCheck;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Validation;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Properties;

/// <summary>The conversation settings a scenario varies.</summary>
public sealed record ConversationScenarioSettings(long SnapshotEvery, int KeepOutputsOfFinished, TimeSpan Retention)
{
    /// <summary>The lease of every scenario; the clock advances around it.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A conversation (<see cref="Conversation.Props"/>) driven through its public protocol: receive, started, steps (also
/// out of order, repeated and negative), errors (also empty), finished, step outputs and the state query, over four
/// message ids plus an empty and an oversized one, while the clock moves across the lease and the retention.
/// </summary>
public sealed class ConversationUnderTest : IEntityUnderTest<ConversationScenarioSettings>
{
    private const string Placeholder = "c";
    private static readonly string TooLongId = new('m', InputRules.MessageId.MaxLength + 1);
    private static readonly byte[] OversizedOutput = new byte[InputRules.DefaultMaxPayloadBytes + 1];

    public Gen<ConversationScenarioSettings> Settings { get; } = Gen.Select(
        Gen.Frequency((5, Gen.Int[1, 4]), (3, Gen.Int[5, 20]), (1, Gen.Const(10_000))),
        Gen.Frequency((1, Gen.Int[1, 2]), (2, Gen.Const(1_000))),
        Gen.Frequency((2, Gen.Const(TimeSpan.FromMinutes(1))), (1, Gen.Const(TimeSpan.FromDays(7)))),
        (snapshotEvery, keep, retention) => new ConversationScenarioSettings(snapshotEvery, keep, retention));

    public Gen<object> Command { get; } = BuildCommands();

    // Within a lease, to its end, and past a one-minute retention.
    public TimeSpan[] ClockAdvances { get; } = [TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1)];

    private static Gen<object> BuildCommands()
    {
        var message = Gen.Frequency((20, Gen.OneOf("m1", "m2", "m3", "m4")), (1, Gen.Const("")), (1, Gen.Const(TooLongId)));
        var step = Gen.Frequency((12, Gen.Int[0, 3]), (1, Gen.Const(-1)));
        var output = Gen.Frequency((30, Gen.Byte.Array[0, 3]), (1, Gen.Const(OversizedOutput)));
        var error = Gen.Frequency((4, Gen.OneOf("boom", "bang")), (1, Gen.Const("")));
        return Gen.Frequency(
            (5, message.Select(m => (object)new ReceiveMessage(Placeholder, m))),
            (2, message.Select(m => (object)new RecordProcessingStarted(Placeholder, m))),
            (5, Gen.Select(message, step, output, (m, s, o) => (object)new RecordStepCompleted(Placeholder, m, s, o))),
            (2, Gen.Select(message, error, (m, e) => (object)new RecordError(Placeholder, m, e))),
            (3, message.Select(m => (object)new RecordProcessingFinished(Placeholder, m))),
            (1, Gen.Select(message, step, (m, s) => (object)new GetStepOutput(Placeholder, m, s))),
            (2, Gen.Const((object)new GetConversationState(Placeholder))));
    }

    public Props Props(ConversationScenarioSettings settings, string uniqueId, TimeProvider clock) =>
        Conversation.Props(uniqueId, new ConversationSettings(
            new ConversationPolicy(settings.KeepOutputsOfFinished) { Lease = ConversationScenarioSettings.Lease, Retention = settings.Retention },
            // Hosted without its region, which is what passivates an idle conversation: the idle timeout plays no part.
            IdleTimeout: TimeSpan.FromHours(1),
            SnapshotEvery: settings.SnapshotEvery,
            Clock: clock));

    public object Bind(object command, string uniqueId) => command switch
    {
        ReceiveMessage c => c with { ConversationId = uniqueId },
        RecordProcessingStarted c => c with { ConversationId = uniqueId },
        RecordStepCompleted c => c with { ConversationId = uniqueId },
        RecordError c => c with { ConversationId = uniqueId },
        RecordProcessingFinished c => c with { ConversationId = uniqueId },
        GetConversationState c => c with { ConversationId = uniqueId },
        GetStepOutput c => c with { ConversationId = uniqueId },
        _ => command,
    };

    public IReferenceModel NewModel(ConversationScenarioSettings settings) => new ConversationModel(settings);

    public IEnumerable<ConversationScenarioSettings> Simpler(ConversationScenarioSettings settings)
    {
        if (settings.KeepOutputsOfFinished < 1_000)
            yield return settings with { KeepOutputsOfFinished = 1_000 };
        if (settings.Retention < TimeSpan.FromDays(7))
            yield return settings with { Retention = TimeSpan.FromDays(7) };
        if (settings.SnapshotEvery > 1)
            yield return settings with { SnapshotEvery = 1 };
        if (settings.SnapshotEvery > 2)
            yield return settings with { SnapshotEvery = Math.Min(settings.SnapshotEvery - 1, 20) };
    }

    public IEnumerable<object> Simpler(object command)
    {
        if (command is RecordStepCompleted { Output.Length: > 0 } step)
            yield return step with { Output = [] };
        if (command is RecordError { Error: not ("" or "boom") } error)
            yield return error with { Error = "boom" };
        object? renamed = command switch
        {
            ReceiveMessage { MessageId: not "m1" } c => c with { MessageId = "m1" },
            RecordProcessingStarted { MessageId: not "m1" } c => c with { MessageId = "m1" },
            RecordStepCompleted { MessageId: not "m1" } c => c with { MessageId = "m1" },
            RecordError { MessageId: not "m1" } c => c with { MessageId = "m1" },
            RecordProcessingFinished { MessageId: not "m1" } c => c with { MessageId = "m1" },
            GetStepOutput { MessageId: not "m1" } c => c with { MessageId = "m1" },
            _ => null,
        };
        if (renamed is not null)
            yield return renamed;
    }

    public string DescribeSettings(ConversationScenarioSettings settings) =>
        $"conversation: snapshot-every = {settings.SnapshotEvery}, keep-outputs-of-finished = {settings.KeepOutputsOfFinished}, " +
        $"lease = {Show.Duration(ConversationScenarioSettings.Lease)}, retention = {Show.Duration(settings.Retention)}";

    public string Describe(object message) => message switch
    {
        ReceiveMessage c => $"ReceiveMessage({Show.Text(c.MessageId)})",
        RecordProcessingStarted c => $"RecordProcessingStarted({Show.Text(c.MessageId)})",
        RecordStepCompleted c => $"RecordStepCompleted({Show.Text(c.MessageId)}, {c.StepIndex}, {Show.Bytes(c.Output)})",
        RecordError c => $"RecordError({Show.Text(c.MessageId)}, {Show.Text(c.Error)})",
        RecordProcessingFinished c => $"RecordProcessingFinished({Show.Text(c.MessageId)})",
        GetConversationState => "GetConversationState",
        GetStepOutput c => $"GetStepOutput({Show.Text(c.MessageId)}, {c.StepIndex})",
        StepOutput o => $"StepOutput({Show.Text(o.MessageId)}, {o.StepIndex}, {Show.Bytes(o.Output)})",
        RedeliveryDecision.InProgress p => $"InProgress(until {p.LeaseExpiresAtMillis})",
        RedeliveryDecision.Start => "Start",
        RedeliveryDecision.Skip => "Skip",
        RedeliveryDecision.ResumeFrom r => $"ResumeFrom({r.StepIndex})",
        EventRecorded e => $"EventRecorded(seq {e.SequenceNr})",
        ConversationRejected r => $"ConversationRejected({Show.Text(r.MessageId)}, {r.Reason})",
        ConversationSnapshot s => Describe(s),
        _ => message.ToString() ?? message.GetType().Name,
    };

    private static string Describe(ConversationSnapshot s) =>
        $"ConversationSnapshot(received [{string.Join(",", s.Received)}], in progress [{string.Join(",", s.InProgress)}], " +
        $"finished [{string.Join(",", s.Finished)}], errors [{string.Join(",", s.Errored.Select(e => $"{e.MessageId}:{e.Error}"))}], " +
        $"steps [{string.Join(",", s.CompletedSteps.Select(c => $"{c.MessageId}#{c.StepIndex}={Show.Bytes(c.Output)}"))}], last seq {s.LastSequenceNr})";

    /// <summary>
    /// The conversation contract (SPEC §2.3, README "Durable conversations") as a dictionary of message id → progress,
    /// plus the finished messages that still hold step outputs, oldest finish first (keep-outputs-of-finished).
    /// Leases: a receive (Start or ResumeFrom) and each started/step record hold the message for the lease; an error
    /// or the finish ends it. Retention: a message is forgotten once its anchor (its finish time; unfinished, the
    /// latest of its receive, lease expiries and errors) is a retention in the past, and it leaves the conversation's
    /// memory (which compaction counts) when the next new message is received.
    /// Sequence numbers are only required to grow: which events a request writes is the actor's business.
    /// </summary>
    private sealed class ConversationModel(ConversationScenarioSettings settings) : IReferenceModel
    {
        private static readonly long LeaseMillis = (long)ConversationScenarioSettings.Lease.TotalMilliseconds;
        private readonly long _retentionMillis = (long)settings.Retention.TotalMilliseconds;
        private readonly Dictionary<string, Progress> _messages = new(StringComparer.Ordinal);
        private readonly List<string> _finishedWithOutputs = [];
        private long _sequenceFloor;
        private string _conversationId = Placeholder;

        private sealed class Progress
        {
            public bool Started { get; set; }
            public bool Finished { get; set; }
            public string? Error { get; set; }
            public long? Lease { get; set; }
            public long Anchor { get; set; }
            public SortedDictionary<int, byte[]> Steps { get; } = [];

            // README: ResumeFrom(n), the first step not yet completed.
            public int FirstIncompleteStep()
            {
                var next = 0;
                while (Steps.ContainsKey(next))
                    next++;
                return next;
            }

            public void Renew(long now)
            {
                if (Finished)
                    return;
                Lease = now + LeaseMillis;
                Anchor = Math.Max(Anchor, Lease.Value);
            }
        }

        public IReadOnlyList<object> Queries() => [new GetConversationState(Placeholder)];

        private bool Retained(Progress progress, long now) => progress.Anchor > now - _retentionMillis;

        public string? Check(object command, object reply, long now)
        {
            var conversation = (IConversationCommand)command;
            _conversationId = conversation.ConversationId;
            if (command is GetConversationState)
                return CheckState(reply, now);

            var messageId = command switch
            {
                ReceiveMessage c => c.MessageId,
                RecordProcessingStarted c => c.MessageId,
                RecordStepCompleted c => c.MessageId,
                RecordError c => c.MessageId,
                RecordProcessingFinished c => c.MessageId,
                GetStepOutput c => c.MessageId,
                _ => throw new ArgumentException($"not a conversation command: {command}"),
            };
            var progress = _messages.GetValueOrDefault(messageId) is { } held && Retained(held, now) ? held : null;

            // Every reason that applies; when several do, the actor may name any of them.
            var rejections = new List<string>();
            if (!InputRules.MessageId.IsValid(messageId))
                rejections.Add(ConversationRejections.InvalidMessageId);
            if (command is not ReceiveMessage && progress is null)
                rejections.Add(ConversationRejections.NotReceived);
            if (command is RecordStepCompleted { StepIndex: < 0 } or GetStepOutput { StepIndex: < 0 })
                rejections.Add(ConversationRejections.NegativeStepIndex);
            if (command is RecordStepCompleted { Output: null or { Length: > InputRules.DefaultMaxPayloadBytes } })
                rejections.Add(ConversationRejections.InvalidOutput);
            if (command is RecordError { Error: null or "" })
                rejections.Add(ConversationRejections.EmptyError);
            if (rejections.Count > 0)
            {
                return reply is ConversationRejected rejected && rejected.ConversationId == _conversationId
                       && rejected.MessageId == messageId && rejections.Contains(rejected.Reason)
                    ? null
                    : $"the model predicted ConversationRejected({Show.Text(messageId)}, {string.Join(" or ", rejections)})";
            }

            if (command is ReceiveMessage)
            {
                RedeliveryDecision expected = progress switch
                {
                    { Finished: true } => new RedeliveryDecision.Skip(),
                    { Lease: { } lease } when lease > now => new RedeliveryDecision.InProgress(lease),
                    { } seen => new RedeliveryDecision.ResumeFrom(seen.FirstIncompleteStep()),
                    null => new RedeliveryDecision.Start(),
                };
                if (expected is RedeliveryDecision.ResumeFrom)
                    progress!.Renew(now);
                if (progress is null)
                    Receive(messageId, now);
                return Equals(expected, reply) ? null : $"the model predicted {new ConversationUnderTest().Describe(expected)}";
            }

            if (command is GetStepOutput get)
            {
                var expected = new StepOutput(_conversationId, messageId, get.StepIndex, progress!.Steps.GetValueOrDefault(get.StepIndex));
                return Equals(expected, reply) ? null : $"the model predicted {new ConversationUnderTest().Describe(expected)}";
            }

            switch (command)
            {
                case RecordProcessingStarted:
                    progress!.Started = true;
                    progress.Renew(now);
                    break;
                case RecordStepCompleted step:
                    progress!.Steps[step.StepIndex] = step.Output;
                    progress.Renew(now);
                    break;
                case RecordError error:
                    progress!.Error = error.Error;
                    progress.Lease = null;
                    if (!progress.Finished)
                        progress.Anchor = Math.Max(progress.Anchor, now);
                    break;
                case RecordProcessingFinished:
                    Finish(messageId, progress!, now);
                    break;
            }
            return CheckRecorded(reply);
        }

        /// <summary>A new message (or one forgotten): receiving first drops every message past the retention.</summary>
        private void Receive(string messageId, long now)
        {
            foreach (var gone in _messages.Where(m => !Retained(m.Value, now)).Select(m => m.Key).ToList())
            {
                _messages.Remove(gone);
                _finishedWithOutputs.Remove(gone);
            }
            var received = new Progress { Anchor = now };
            received.Renew(now);
            _messages[messageId] = received;
        }

        /// <summary>Finishing keeps the step outputs of the newest keep-outputs-of-finished finished messages only.</summary>
        private void Finish(string messageId, Progress progress, long now)
        {
            progress.Finished = true;
            progress.Lease = null;
            progress.Anchor = now;
            if (progress.Steps.Count > 0 && !_finishedWithOutputs.Contains(messageId))
                _finishedWithOutputs.Add(messageId);
            while (_finishedWithOutputs.Count > settings.KeepOutputsOfFinished)
            {
                _messages[_finishedWithOutputs[0]].Steps.Clear();
                _finishedWithOutputs.RemoveAt(0);
            }
        }

        private string? CheckRecorded(object reply)
        {
            if (reply is not EventRecorded recorded || recorded.ConversationId != _conversationId)
                return "the model predicted EventRecorded";
            if (recorded.SequenceNr <= _sequenceFloor)
                return $"the model predicted EventRecorded with a sequence number above {_sequenceFloor}, the highest one already answered";
            _sequenceFloor = recorded.SequenceNr;
            return null;
        }

        private string? CheckState(object reply, long now)
        {
            var ordered = _messages.Where(m => Retained(m.Value, now)).OrderBy(m => m.Key, StringComparer.Ordinal).ToList();
            var expected = new ConversationSnapshot(
                _conversationId,
                ordered.Select(m => m.Key).ToArray(),
                ordered.Where(m => m.Value is { Started: true, Finished: false }).Select(m => m.Key).ToArray(),
                ordered.Where(m => m.Value.Finished).Select(m => m.Key).ToArray(),
                ordered.Where(m => m.Value.Error is not null).Select(m => new MessageError(m.Key, m.Value.Error!)).ToArray(),
                ordered.SelectMany(m => m.Value.Steps.Select(s => new CompletedStep(m.Key, s.Key, s.Value))).ToArray(),
                LastSequenceNr: 0);
            if (reply is not ConversationSnapshot actual || !Equals(expected with { LastSequenceNr = actual.LastSequenceNr }, actual))
                return $"the model predicted {Describe(expected)} (any last seq ≥ {_sequenceFloor})";
            if (actual.LastSequenceNr < _sequenceFloor)
                return $"the model predicted a last sequence number of at least {_sequenceFloor}, the highest one already answered";
            _sequenceFloor = actual.LastSequenceNr;
            return null;
        }
    }
}

/// <summary>The bulk run: many random scenarios on Akka's in-memory journal, restarting the conversation inside one actor system.</summary>
public sealed class ConversationRecoveryProperties(ITestOutputHelper output) : InMemoryPropertyTestKit(output)
{
    [Fact]
    public void Every_reply_matches_the_model_and_the_recovered_state_is_the_acknowledged_one() =>
        RecoveryProperty.Check(this, new ConversationUnderTest(), RecoveryProperty.InMemory, Output);
}

/// <summary>The fixed sample on SQLite on disk.</summary>
public sealed class ConversationSqliteRecoveryProperties(ITestOutputHelper output) : LiminalTestKit
{
    [Fact]
    public void The_fixed_sample_holds_on_SQLite_on_disk() =>
        RecoveryProperty.CheckSample(this, new ConversationUnderTest(), RecoveryProperty.Sqlite, output);
}

/// <summary>The same fixed sample on PostgreSQL (unique conversation ids: the database is shared).</summary>
public sealed class ConversationPostgreSqlRecoveryProperties(ITestOutputHelper output) : PostgreSqlTestKit
{
    [SkippableFact]
    public void The_fixed_sample_holds_on_PostgreSQL()
    {
        RequireServer();
        RecoveryProperty.CheckSample(this, new ConversationUnderTest(), RecoveryProperty.PostgreSql, output);
    }
}
