using System.Text;
using Akka.Actor;
using Akka.TestKit;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;
using CsCheck;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;
using static Liminal.Actors.Tests.TestSupport.ChannelReading;

namespace Liminal.Actors.Tests.Properties;

/// <summary>One step of a generated run against a whole bus: publishes, or a crash of its actor system.</summary>
public abstract record KeyedPublishStep
{
    private KeyedPublishStep() { }

    /// <summary>Publishes sent without waiting (a key index into the pool, or null for an unkeyed publish), then every answer read.</summary>
    public sealed record Burst(int?[] Keys) : KeyedPublishStep;

    /// <summary>The actor system is terminated without drain and a new one started on the same SQLite file.</summary>
    public sealed record Crash : KeyedPublishStep;

    /// <summary>Publishes sent, then the crash at once: the answers that made it out before are checked, the others are unknown.</summary>
    public sealed record CrashMidBurst(int?[] Keys) : KeyedPublishStep;
}

/// <summary>A channel of <c>Partitions</c> partitions; key <c>i</c> of the pool is always published with <c>PartitionKeys[i]</c>.</summary>
public sealed record KeyedPublishScenario(int Partitions, string?[] PartitionKeys, KeyedPublishStep[] Steps);

/// <summary>
/// SPEC §2.4 across crashes, on SQLite on disk: for random publishes of a small pool of keys (each key always with its
/// own PartitionKey, or none), on 1 to 4 partitions, with the actor system crashed at random points, (1) every answer
/// agrees with every earlier one for its key: one position, one receipt, at most one non-duplicate ever; and (2) after a
/// final crash and a re-publish of every key, each key is stored exactly once, where its answers said, and every
/// message acknowledged is in the log where its ack said.
/// </summary>
public sealed class KeyedPublishRecoveryProperties(ITestOutputHelper output) : LiminalTestKit(TestDatabase.NewPath(), CrashOnTerminate)
{
    private const int KeyPool = 6;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Scenarios per run; <c>LIMINAL_PROPERTY_ITERATIONS</c> raises it (each crash costs an actor system start).</summary>
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("LIMINAL_PROPERTY_ITERATIONS"), out var n) && n > 0 ? Math.Max(12, n / 10) : 12;

    private static readonly Gen<KeyedPublishScenario> Scenarios = BuildScenarios();

    private int _run;
    // What the runs exercised: answers checked, and publishes a crash left unanswered or failed.
    private int _acked, _unanswered, _failed;

    private static Gen<KeyedPublishScenario> BuildScenarios()
    {
        var key = Gen.Frequency((8, Gen.Int[0, KeyPool - 1].Select(k => (int?)k)), (1, Gen.Const(default(int?))));
        var keys = key.Array[1, 12];
        var step = Gen.Frequency(
            (6, keys.Select(k => (KeyedPublishStep)new KeyedPublishStep.Burst(k))),
            (2, Gen.Const<KeyedPublishStep>(new KeyedPublishStep.Crash())),
            (1, keys.Select(k => (KeyedPublishStep)new KeyedPublishStep.CrashMidBurst(k))));
        var partitionKey = Gen.Frequency((1, Gen.Const(default(string?))), (1, Gen.OneOf<string?>("tenant-a", "tenant-b", "tenant-c", "tenant-d")));
        return Gen.Select(Gen.Int[1, 4], partitionKey.Array[KeyPool], step.Array[1, 6],
            (partitions, partitionKeys, steps) => new KeyedPublishScenario(partitions, partitionKeys, steps));
    }

    [Fact]
    public void Every_key_is_stored_once_and_every_answer_still_holds_across_crashes_on_SQLite_on_disk()
    {
        Scenarios.Sample(Run, iter: Iterations, threads: 1, print: Print);
        output.WriteLine($"{_run} scenarios passed: {_acked} acks checked; crashes left {_unanswered} publishes unanswered and failed {_failed}");
    }

    private void Run(KeyedPublishScenario scenario)
    {
        // Each run its own channel (and so its own partitions' persistence ids) and keys in the test's database.
        var channel = $"run{++_run}";
        var settings = DefaultSettings with { Channels = [new ChannelDefinition(channel, Durable: true, Partitions: scenario.Partitions)] };
        var model = new Model(scenario, $"{channel}-", this);
        var system = StartSystemOnSameDatabase();
        try
        {
            var bus = LiminalBus.Start(system, settings);
            for (var i = 0; i < scenario.Steps.Length; i++)
            {
                var where = $"step {i + 1}";
                switch (scenario.Steps[i])
                {
                    case KeyedPublishStep.Burst burst:
                        model.Check(where, burst.Keys, Answers(Publish(system, bus, channel, model, burst.Keys), crashed: false), crashed: false);
                        break;
                    case KeyedPublishStep.Crash:
                        (system, bus) = Restart(system, settings);
                        break;
                    case KeyedPublishStep.CrashMidBurst crash:
                        var probes = Publish(system, bus, channel, model, crash.Keys);
                        (system, bus) = Restart(system, settings);
                        model.Check(where, crash.Keys, Answers(probes, crashed: true), crashed: true);
                        break;
                }
            }

            // After a last crash every key is published once more, so each is stored; then the logs are read.
            (system, bus) = Restart(system, settings);
            var all = Enumerable.Range(0, KeyPool).Select(k => (int?)k).ToArray();
            model.Check("the final re-publish", all, Answers(Publish(system, bus, channel, model, all), crashed: false), crashed: false);
            model.CheckLog(this.ReadAllLogs(system, bus.Channels, channel, scenario.Partitions));
        }
        finally
        {
            Shutdown(system);
        }
    }

    private (ActorSystem, LiminalBus) Restart(ActorSystem system, LiminalSettings settings)
    {
        Shutdown(system);   // CrashOnTerminate: no drain
        var restarted = StartSystemOnSameDatabase();
        return (restarted, LiminalBus.Start(restarted, settings));
    }

    /// <summary>Tells every publish (one probe each) before reading any answer.</summary>
    private TestProbe[] Publish(ActorSystem system, LiminalBus bus, string channel, Model model, int?[] keys)
    {
        var probes = keys.Select(_ => CreateTestProbe(system)).ToArray();
        for (var c = 0; c < keys.Length; c++)
            bus.Channels.Tell(model.PublishOf(channel, keys[c]), probes[c].Ref);
        return probes;
    }

    /// <summary>Each publish's answer; after a crash only those that arrived before it (null for the others).</summary>
    private static object?[] Answers(TestProbe[] probes, bool crashed) =>
        probes.Select(probe => crashed
            ? probe.HasMessages ? probe.ReceiveOne(TimeSpan.Zero) : null
            : probe.ExpectMsg<object>(Patience)).ToArray();

    private static string Print(KeyedPublishScenario scenario)
    {
        string Keys(int?[] keys) => string.Join(" ", keys.Select(k => k is { } i ? $"k{i}" : "unkeyed"));
        var text = new StringBuilder($"{scenario.Partitions} partition(s); partition keys: ");
        text.AppendJoin(", ", scenario.PartitionKeys.Select((p, i) => $"k{i}→{p ?? "(hash of the key)"}"));
        foreach (var (step, i) in scenario.Steps.Select((s, i) => (s, i)))
        {
            text.Append($"\n  {i + 1}. ").Append(step switch
            {
                KeyedPublishStep.Burst b => $"burst [{Keys(b.Keys)}]",
                KeyedPublishStep.CrashMidBurst c => $"burst [{Keys(c.Keys)}] and crash at once",
                _ => "crash",
            });
        }
        return text.Append($"\n  {scenario.Steps.Length + 1}. crash, re-publish every key, read the logs").ToString();
    }

    /// <summary>Every answer given so far, and what it promises about the log.</summary>
    private sealed class Model(KeyedPublishScenario scenario, string keyPrefix, KeyedPublishRecoveryProperties counts)
    {
        // Key -> the first answer naming its message; every later answer must name the same message.
        private readonly Dictionary<string, PublishAck> _positions = [];
        // Key -> the number of the publish told it was not a duplicate (its message is the one stored).
        private readonly Dictionary<string, long> _writtenBy = [];
        // (partition, sequence number) -> the number of the unkeyed publish acknowledged there.
        private readonly Dictionary<(int, long), long> _unkeyed = [];
        private readonly List<long> _numbers = [];
        private long _next;

        public Publish PublishOf(string channel, int? key)
        {
            var n = ++_next;
            _numbers.Add(n);
            return key is { } k
                ? Keyed(channel, $"{keyPrefix}k{k}", scenario.PartitionKeys[k], n)
                : new Publish(channel, new MessageEnvelope(Payload(null, n), "shop"));
        }

        /// <summary>Checks the answers to a burst, in the order it was sent (the numbers of its publishes are the last ones handed out).</summary>
        public void Check(string where, int?[] keys, object?[] replies, bool crashed)
        {
            var first = _numbers.Count - keys.Length;
            for (var c = 0; c < keys.Length; c++)
            {
                var n = _numbers[first + c];
                var what = $"{where}, publish {c + 1} of {keys.Length} ({(keys[c] is { } k ? $"k{k}" : "unkeyed")}, #{n})";
                var reply = replies[c];
                switch (reply)
                {
                    case null when crashed:
                        counts._unanswered++;   // the crash came first: the outcome is unknown
                        break;
                    case PublishRejected { Reason: PublishFailure.PersistFailed or PublishFailure.ShuttingDown } when crashed:
                        counts._failed++;
                        break;
                    case PublishAck ack:
                        counts._acked++;
                        CheckAck(what, keys[c], n, ack);
                        break;
                    default:
                        throw new PropertyViolation($"{what}: answered {reply?.ToString() ?? "nothing"}");
                }
            }
        }

        private void CheckAck(string what, int? key, long n, PublishAck ack)
        {
            if (ack.InFlight || ack.SequenceNr is null || ack.Partition < 0 || ack.Partition >= scenario.Partitions)
                throw new PropertyViolation($"{what}: answered {ack}");
            if (key is null)
            {
                if (ack.Duplicate || !_unkeyed.TryAdd((ack.Partition, ack.SequenceNr.Value), n))
                    throw new PropertyViolation($"{what}: unkeyed, answered {ack}, a position acknowledged before");
                return;
            }
            var name = $"{keyPrefix}k{key}";
            if (_positions.TryGetValue(name, out var earlier))
            {
                if (!ack.Duplicate || ack.Delivered || ack.DeliveredCount != 0 || ack.Partition != earlier.Partition
                    || ack.SequenceNr != earlier.SequenceNr || !Equals(ack.Receipt, earlier.Receipt))
                    throw new PropertyViolation($"{what}: answered {ack} ({Text(ack.Receipt!)}), but {name} was answered {earlier} before");
                return;
            }
            if (ack.Receipt is null || !IsReceiptOf(ack))
                throw new PropertyViolation($"{what}: answered {ack} with the receipt {(ack.Receipt is null ? "null" : Text(ack.Receipt))}");
            _positions[name] = ack;
            if (!ack.Duplicate)
                _writtenBy[name] = n;
        }

        private static bool IsReceiptOf(PublishAck ack) => ReadReceipt(ack.Receipt!) == (ack.Channel, ack.Partition, ack.SequenceNr);

        public void CheckLog(List<Delivery> log)
        {
            var stored = log.Where(d => KeyOf(d) is not null).GroupBy(d => KeyOf(d)!).ToDictionary(g => g.Key, g => g.ToList());
            var twice = stored.Where(s => s.Value.Count > 1).Select(s => $"{s.Key} at {string.Join(", ", s.Value.Select(d => $"{d.Partition}/{d.SequenceNr}"))}").ToList();
            if (twice.Count > 0)
                throw new PropertyViolation($"stored more than once: {string.Join("; ", twice)}");
            foreach (var (name, ack) in _positions)
            {
                if (!stored.TryGetValue(name, out var messages))
                    throw new PropertyViolation($"{name} was answered {ack} but is not in the log");
                var message = messages[0];
                if ((message.Partition, message.SequenceNr) != (ack.Partition, ack.SequenceNr))
                    throw new PropertyViolation($"{name} was answered {ack} but is stored at {message.Partition}/{message.SequenceNr}");
                if (_writtenBy.TryGetValue(name, out var n) && NumberOf(message) != n)
                    throw new PropertyViolation($"{name}: publish #{n} was told it was not a duplicate, but the stored message is #{NumberOf(message)}'s");
            }
            var unanswered = Enumerable.Range(0, KeyPool).Select(k => $"{keyPrefix}k{k}").Where(k => !_positions.ContainsKey(k)).ToList();
            if (unanswered.Count > 0)
                throw new PropertyViolation($"never acknowledged, even by the final re-publish: {string.Join(", ", unanswered)}");
            var byPosition = log.ToDictionary(d => (d.Partition, d.SequenceNr!.Value));
            foreach (var ((partition, sequenceNr), n) in _unkeyed)
            {
                if (!byPosition.TryGetValue((partition, sequenceNr), out var message) || KeyOf(message) is not null || NumberOf(message) != n)
                    throw new PropertyViolation($"unkeyed publish #{n} was acknowledged at {partition}/{sequenceNr}, which holds {message?.ToString() ?? "nothing"}");
            }
        }
    }
}
