using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Akka.TestKit;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Properties;

/// <summary>One step of a generated scenario: commands sent without waiting, a clock advance, or a restart.</summary>
public abstract record Step
{
    private Step() { }

    /// <summary>Commands sent one after another from the test thread without waiting for replies: mailbox order is send order.</summary>
    public sealed record Burst(object[] Commands) : Step;

    /// <summary>Moves the fake clock forward (the dedup TTL, receive times).</summary>
    public sealed record AdvanceClock(TimeSpan By) : Step;

    /// <summary>Stops the entity, waits for <c>Terminated</c>, and starts a new one with the same persistence id.</summary>
    public sealed record Restart : Step;
}

/// <summary>A generated run against one entity: its settings and its steps. Every run ends with one more restart.</summary>
public sealed record Scenario<TSettings>(TSettings Settings, Step[] Steps)
{
    public int CommandCount => Steps.Sum(s => s is Step.Burst b ? b.Commands.Length : 0);
}

/// <summary>A sequential reference model of one entity: a few dictionaries, applied in mailbox order.</summary>
public interface IReferenceModel
{
    /// <summary>Applies <paramref name="command"/> to the model and says why <paramref name="reply"/> is wrong, or null when it is the one predicted.</summary>
    string? Check(object command, object reply, long nowMillis);

    /// <summary>Read-only queries that together read back everything the commands so far may have touched.</summary>
    IReadOnlyList<object> Queries();
}

/// <summary>What the recovery property needs to know about one persistent entity kind.</summary>
public interface IEntityUnderTest<TSettings>
{
    Gen<TSettings> Settings { get; }

    /// <summary>Commands whose ids are placeholders; <see cref="Bind"/> gives them the run's unique id.</summary>
    Gen<object> Command { get; }

    /// <summary>Clock advances worth generating (empty when the entity does not read the clock in a way replies show).</summary>
    TimeSpan[] ClockAdvances { get; }

    /// <summary>The entity's public Props, for a run whose persistence id is made unique by <paramref name="uniqueId"/>.</summary>
    Props Props(TSettings settings, string uniqueId, TimeProvider clock);

    object Bind(object command, string uniqueId);

    IReferenceModel NewModel(TSettings settings);

    /// <summary>Settings a shrunk counterexample may try instead (simpler first).</summary>
    IEnumerable<TSettings> Simpler(TSettings settings);

    /// <summary>Commands a shrunk counterexample may try instead of <paramref name="command"/> (fewer parts, first ids).</summary>
    IEnumerable<object> Simpler(object command);

    string DescribeSettings(TSettings settings);

    /// <summary>A short, complete rendering of a command or reply (byte arrays and long ids included).</summary>
    string Describe(object message);
}

/// <summary>Where the property runs: an in-memory journal for the bulk, SQLite and PostgreSQL for a fixed sample.</summary>
public sealed record PropertyBackend(string Name, TimeSpan ReplyTimeout, int ShrinkRuns);

/// <summary>
/// The recovery property: for a generated stream of bursts, clock advances and restarts, (1) every reply is the one the
/// sequential reference model predicts, and (2) after each restart every query answers exactly as before it.
/// </summary>
public static class RecoveryProperty
{
    /// <summary>Bulk case count per entity kind; <c>LIMINAL_PROPERTY_ITERATIONS</c> raises it.</summary>
    public static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("LIMINAL_PROPERTY_ITERATIONS"), out var n) && n > 0 ? n : 100;

    public static readonly PropertyBackend InMemory = new("in-memory journal", TimeSpan.FromSeconds(10), ShrinkRuns: 300);
    public static readonly PropertyBackend Sqlite = new("SQLite on disk", TimeSpan.FromSeconds(30), ShrinkRuns: 20);
    public static readonly PropertyBackend PostgreSql = new("PostgreSQL", TimeSpan.FromSeconds(30), ShrinkRuns: 20);

    /// <summary>
    /// Fixed seeds for the SQL sample: each generates one whole scenario per entity kind, the same on SQLite and
    /// PostgreSQL. Picked for spread: snapshot-every 1, 3, 4 and 5; dedup capacities 5, 2 and unbounded with clock
    /// advances past the TTL; keep-outputs-of-finished 2, 1 and unbounded; one to four restarts each.
    /// </summary>
    public static readonly string[] SqlSampleSeeds = ["5iminalSq7x1", "5iminalSqbM1", "5iminalSq061", "5iminalSq0v1"];

    /// <summary>Scenarios: settings, then 1 to 24 steps, mostly bursts of 1 to 16 commands.</summary>
    public static Gen<Scenario<TSettings>> Scenarios<TSettings>(IEntityUnderTest<TSettings> entity)
    {
        var burst = entity.Command.Array[1, 16].Select(commands => (Step)new Step.Burst(commands));
        var restart = Gen.Const<Step>(new Step.Restart());
        var step = entity.ClockAdvances.Length == 0
            ? Gen.Frequency((8, burst), (2, restart))
            : Gen.Frequency((8, burst), (2, restart), (3, Gen.OneOf(entity.ClockAdvances).Select(by => (Step)new Step.AdvanceClock(by))));
        return Gen.Select(entity.Settings, step.Array[1, 24], (settings, steps) => new Scenario<TSettings>(settings, steps));
    }

    /// <summary>The bulk run: <see cref="Iterations"/> random scenarios (CsCheck seeds them; a failure prints its seed).</summary>
    public static void Check<TSettings>(TestKitBase kit, IEntityUnderTest<TSettings> entity, PropertyBackend backend, ITestOutputHelper output) =>
        Run(kit, entity, backend, output, (gen, assert, print) => gen.Sample(assert, iter: Iterations, threads: 1, print: print));

    /// <summary>The fixed sample: one scenario per seed of <see cref="SqlSampleSeeds"/>.</summary>
    public static void CheckSample<TSettings>(TestKitBase kit, IEntityUnderTest<TSettings> entity, PropertyBackend backend, ITestOutputHelper output) =>
        Run(kit, entity, backend, output, (gen, assert, print) =>
        {
            foreach (var seed in SqlSampleSeeds)
                gen.Sample(assert, seed: seed, iter: 1, threads: 1, print: print);
        });

    private static void Run<TSettings>(
        TestKitBase kit, IEntityUnderTest<TSettings> entity, PropertyBackend backend, ITestOutputHelper output,
        Action<Gen<Scenario<TSettings>>, Action<Scenario<TSettings>>, Func<Scenario<TSettings>, string>> sample)
    {
        var runner = new ScenarioRunner<TSettings>(kit, entity, backend);
        Scenario<TSettings>? smallest = null;
        Exception? smallestFailure = null;
        var runs = 0;
        void Assert(Scenario<TSettings> scenario)
        {
            runs++;
            try
            {
                runner.Run(scenario);
            }
            catch (Exception failure)
            {
                if (smallest is null || Smaller(scenario, smallest))
                    (smallest, smallestFailure) = (scenario, failure);
                throw;
            }
        }
        try
        {
            sample(Scenarios(entity), Assert, scenario => Print(entity, scenario));
            output.WriteLine($"{runs} scenarios passed on the {backend.Name}");
        }
        catch (CsCheckException sampled) when (smallest is not null)
        {
            var (minimal, failure, shrinkRuns) = Shrink(runner, entity, smallest, smallestFailure!, backend.ShrinkRuns);
            throw new RecoveryPropertyFailed(
                $"""
                 Recovery property of {entity.GetType().Name} failed on the {backend.Name} ({runs} scenarios run, CsCheck's shrinking included).
                 CsCheck: {sampled.Message}

                 Shrunk further by dropping steps and commands and simplifying settings and commands ({shrinkRuns} more runs); the smallest failing command stream:
                 {Print(entity, minimal)}
                 It fails with: {failure.Message}
                 """, sampled);
        }
    }

    /// <summary>One fixed scenario (a counterexample found earlier), run and reported like a generated one.</summary>
    public static void CheckExample<TSettings>(TestKitBase kit, IEntityUnderTest<TSettings> entity, PropertyBackend backend, Scenario<TSettings> scenario)
    {
        try
        {
            new ScenarioRunner<TSettings>(kit, entity, backend).Run(scenario);
        }
        catch (PropertyViolation violation)
        {
            throw new RecoveryPropertyFailed(
                $"""
                 Recovery property of {entity.GetType().Name} failed on the {backend.Name} for the fixed scenario
                 {Print(entity, scenario)}
                 It fails with: {violation.Message}
                 """, violation);
        }
    }

    private static bool Smaller<TSettings>(Scenario<TSettings> a, Scenario<TSettings> b) =>
        a.CommandCount + a.Steps.Length < b.CommandCount + b.Steps.Length;

    /// <summary>
    /// Greedy shrinking on top of CsCheck's (which only re-draws smaller random scenarios): drop chunks of steps, then
    /// commands of each burst, then try simpler settings and commands, keeping any candidate that still fails, until
    /// nothing simpler fails or the run budget is spent.
    /// </summary>
    private static (Scenario<TSettings> Scenario, Exception Failure, int Runs) Shrink<TSettings>(
        ScenarioRunner<TSettings> runner, IEntityUnderTest<TSettings> entity, Scenario<TSettings> scenario, Exception failure, int budget)
    {
        var runs = 0;
        var improved = true;
        while (improved && runs < budget)
        {
            improved = false;
            foreach (var candidate in Candidates(entity, scenario))
            {
                if (runs >= budget)
                    break;
                runs++;
                try
                {
                    runner.Run(candidate);
                }
                catch (Exception smallerFailure)
                {
                    (scenario, failure, improved) = (candidate, smallerFailure, true);
                    break;
                }
            }
        }
        return (scenario, failure, runs);
    }

    private static IEnumerable<Scenario<TSettings>> Candidates<TSettings>(IEntityUnderTest<TSettings> entity, Scenario<TSettings> scenario)
    {
        var steps = scenario.Steps;
        for (var chunk = Math.Max(1, steps.Length / 2); chunk >= 1; chunk /= 2)
        {
            for (var start = 0; start + chunk <= steps.Length; start += chunk)
                yield return scenario with { Steps = [.. steps[..start], .. steps[(start + chunk)..]] };
            if (chunk == 1)
                break;
        }
        for (var i = 0; i < steps.Length; i++)
        {
            if (steps[i] is not Step.Burst { Commands.Length: > 1 } burst)
                continue;
            var commands = burst.Commands;
            for (var chunk = Math.Max(1, commands.Length / 2); chunk >= 1; chunk /= 2)
            {
                for (var start = 0; start + chunk <= commands.Length; start += chunk)
                {
                    var shorter = steps.ToArray();
                    shorter[i] = new Step.Burst([.. commands[..start], .. commands[(start + chunk)..]]);
                    yield return scenario with { Steps = shorter };
                }
                if (chunk == 1)
                    break;
            }
        }
        foreach (var settings in entity.Simpler(scenario.Settings))
            yield return scenario with { Settings = settings };
        for (var i = 0; i < steps.Length; i++)
        {
            if (steps[i] is not Step.Burst burst)
                continue;
            for (var c = 0; c < burst.Commands.Length; c++)
            {
                foreach (var simpler in entity.Simpler(burst.Commands[c]))
                {
                    var commands = burst.Commands.ToArray();
                    commands[c] = simpler;
                    var changed = steps.ToArray();
                    changed[i] = new Step.Burst(commands);
                    yield return scenario with { Steps = changed };
                }
            }
        }
    }

    /// <summary>The command stream as a reader (and the colleague fixing the bug) wants to see it.</summary>
    public static string Print<TSettings>(IEntityUnderTest<TSettings> entity, Scenario<TSettings> scenario)
    {
        var text = new StringBuilder();
        text.Append(entity.DescribeSettings(scenario.Settings)).Append('\n');
        for (var i = 0; i < scenario.Steps.Length; i++)
        {
            text.Append($"  {i + 1,2}. ");
            text.Append(scenario.Steps[i] switch
            {
                Step.Burst { Commands.Length: > 30 } b =>
                    $"burst of {b.Commands.Length} [{string.Join(", ", b.Commands[..10].Select(entity.Describe))}, … {b.Commands.Length - 13} more …, " +
                    $"{string.Join(", ", b.Commands[^3..].Select(entity.Describe))}]",
                Step.Burst b => $"burst [{string.Join(", ", b.Commands.Select(entity.Describe))}]",
                Step.AdvanceClock a => $"advance clock {Show.Duration(a.By)}",
                Step.Restart => "restart",
                _ => scenario.Steps[i].ToString(),
            });
            text.Append('\n');
        }
        text.Append($"  {scenario.Steps.Length + 1,2}. restart (every scenario ends with one)");
        return text.ToString();
    }
}

/// <summary>A failed recovery property: the CsCheck seed, and the smallest command stream found.</summary>
public sealed class RecoveryPropertyFailed(string message, Exception inner) : Exception(message, inner);

/// <summary>A reply the model did not predict, or a query that answered differently after a restart.</summary>
public sealed class PropertyViolation(string message) : Exception(message);

/// <summary>Runs one scenario against a fresh entity (a unique persistence id) and checks both halves of the property.</summary>
public sealed class ScenarioRunner<TSettings>(TestKitBase kit, IEntityUnderTest<TSettings> entity, PropertyBackend backend)
{
    private static readonly DateTimeOffset Epoch = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    public void Run(Scenario<TSettings> scenario)
    {
        var id = $"p{Guid.NewGuid():N}"[..13];
        var clock = new FakeTimeProvider(Epoch);
        var model = entity.NewModel(scenario.Settings);
        var probes = new List<TestProbe>();
        var watcher = kit.CreateTestProbe();
        var props = entity.Props(scenario.Settings, id, clock);
        // Started lazily by the first burst after a (re)start, so that burst reaches the entity while it recovers.
        IActorRef? actor = null;
        try
        {
            for (var i = 0; i < scenario.Steps.Length; i++)
            {
                switch (scenario.Steps[i])
                {
                    case Step.Burst burst:
                        var commands = burst.Commands.Select(c => entity.Bind(c, id)).ToArray();
                        var replies = Send(commands, $"step {i + 1}");
                        for (var c = 0; c < commands.Length; c++)
                        {
                            if (model.Check(commands[c], replies[c], Now()) is { } wrong)
                                throw Violation($"(1) step {i + 1}, command {c + 1} of the burst: {entity.Describe(commands[c])} was answered {entity.Describe(replies[c])}; {wrong}");
                        }
                        break;
                    case Step.AdvanceClock advance:
                        clock.Advance(advance.By);
                        break;
                    case Step.Restart:
                        RestartAndCompare($"the restart at step {i + 1}");
                        break;
                }
            }
            RestartAndCompare("the final restart");
            for (var p = 0; p < probes.Count; p++)
            {
                if (probes[p].HasMessages)
                    throw Violation($"a command got more than one reply: probe {p + 1} still holds {entity.Describe(probes[p].ReceiveOne(TimeSpan.Zero)!)}");
            }
        }
        finally
        {
            if (actor is not null)
                kit.Sys.Stop(actor);
            foreach (var probe in probes)
                kit.Sys.Stop(probe.Ref);
            kit.Sys.Stop(watcher.Ref);
        }

        long Now() => clock.GetUtcNow().ToUnixTimeMilliseconds();

        IActorRef Start()
        {
            var started = kit.Sys.ActorOf(props);
            watcher.Watch(started);
            return started;
        }

        void Stop()
        {
            if (actor is null)
                return;
            kit.Sys.Stop(actor);
            watcher.ExpectTerminated(actor, backend.ReplyTimeout);
            actor = null;
        }

        // One probe per command of a burst, so each reply is matched to its command whatever order replies come in.
        object[] Send(object[] commands, string where)
        {
            if (commands.Length == 0)
                return [];
            while (probes.Count < commands.Length)
                probes.Add(kit.CreateTestProbe());
            // Serialized first, then told in a tight loop, so that as much of the burst as possible is in the mailbox
            // before its first write completes and the rest is group-committed together. The first burst after a
            // (re)start always is: it arrives while the entity recovers, is stashed, and is unstashed at once.
            var wired = commands.Select(CrossTheWire).ToArray();
            actor ??= Start();
            for (var c = 0; c < wired.Length; c++)
                actor.Tell(wired[c], probes[c].Ref);
            var replies = new object[commands.Length];
            for (var c = 0; c < commands.Length; c++)
            {
                try
                {
                    replies[c] = CrossTheWire(probes[c].ExpectMsg<object>(backend.ReplyTimeout));
                }
                catch (Exception noReply) when (noReply is not PropertyViolation)
                {
                    var stopped = watcher.HasMessages ? " (the entity stopped)" : "";
                    throw Violation($"{where}, command {c + 1} of {commands.Length}: no reply to {entity.Describe(commands[c])} within {backend.ReplyTimeout}{stopped}");
                }
            }
            return replies;
        }

        void RestartAndCompare(string which)
        {
            var queries = model.Queries().Select(q => entity.Bind(q, id)).ToArray();
            var before = Send(queries, $"before {which}");
            for (var q = 0; q < queries.Length; q++)
            {
                if (model.Check(queries[q], before[q], Now()) is { } wrong)
                    throw Violation($"(1) before {which}: {entity.Describe(queries[q])} was answered {entity.Describe(before[q])}; {wrong}");
            }

            Stop();

            var after = Send(queries, $"after {which}");
            var changed = Enumerable.Range(0, queries.Length).Where(q => !Equals(before[q], after[q])).ToList();
            if (changed.Count > 0)
            {
                var shown = changed.Take(10).Select(q =>
                    $"      {entity.Describe(queries[q])}: before {entity.Describe(before[q])}, after {entity.Describe(after[q])}");
                var more = changed.Count > 10 ? $"\n      … and {changed.Count - 10} more" : "";
                throw Violation($"(2) {changed.Count} of {queries.Length} queries answered differently after {which}:\n{string.Join("\n", shown)}{more}");
            }
            for (var q = 0; q < queries.Length; q++)
            {
                if (model.Check(queries[q], after[q], Now()) is { } wrong)
                    throw Violation($"(1) after {which}: {entity.Describe(queries[q])} was answered {entity.Describe(after[q])}; {wrong}");
            }
        }
    }

    private static PropertyViolation Violation(string message) => new(message);

    /// <summary>What the message is after a trip through the serializer bound to it, as if it came from another process.</summary>
    private object CrossTheWire(object message)
    {
        var serialization = kit.Sys.Serialization;
        var serializer = serialization.FindSerializerFor(message);
        var bytes = serializer.ToBinary(message);
        return serialization.Deserialize(bytes, serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, message));
    }
}

/// <summary>
/// The actor system of the bulk run: Akka's in-memory journal, an in-memory snapshot store
/// (<see cref="BoundedDeleteMemorySnapshotStore"/>), Liminal's serializers bound. (<c>serialize-messages</c> stays off:
/// Akka.Persistence's own messages, e.g. <c>LoadSnapshotResult</c>, are lost under it; <see cref="ScenarioRunner{TSettings}"/>
/// sends every command and checks every reply through the wire serializer instead.)
/// </summary>
public abstract class InMemoryPropertyTestKit(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(HoconConfig, output: output)
{
    private static readonly Config HoconConfig = ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              persistence.journal.plugin = "akka.persistence.journal.inmem"
              persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.bounded-delete-inmem"
              persistence.snapshot-store.bounded-delete-inmem {
                class = "{{typeof(BoundedDeleteMemorySnapshotStore).AssemblyQualifiedName}}"
                plugin-dispatcher = "akka.actor.default-dispatcher"
              }
            }
            """).WithFallback(LiminalSettings.DefaultConfig);
}

/// <summary>
/// An in-memory snapshot store like Akka's <c>akka.persistence.snapshot-store.inmem</c>, except that deleting snapshots
/// "up to sequence number 0" deletes none.
/// </summary>
/// <remarks>
/// Akka's <c>MemorySnapshotStore</c> reads a bound of 0 or less as no bound and deletes every snapshot of the entity. Our
/// actors ask for exactly that after a first snapshot at sequence number 1 (they delete those older than the new one), so
/// the stock store silently threw away the snapshots and recovery replayed the whole journal instead: it hid the dedup
/// shard's mid-write snapshot in most runs. The SQL snapshot store reads the bound literally, as this one does.
/// </remarks>
public sealed class BoundedDeleteMemorySnapshotStore : SnapshotStore
{
    private readonly List<SelectedSnapshot> _snapshots = [];

    protected override Task<SelectedSnapshot> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        Task.FromResult(_snapshots.Where(s => Matches(s.Metadata, persistenceId, criteria)).MaxBy(s => s.Metadata.SequenceNr)!);

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        _snapshots.RemoveAll(s => s.Metadata.PersistenceId == metadata.PersistenceId && s.Metadata.SequenceNr == metadata.SequenceNr);
        _snapshots.Add(new SelectedSnapshot(metadata, snapshot));
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        _snapshots.RemoveAll(s => s.Metadata.PersistenceId == metadata.PersistenceId && s.Metadata.SequenceNr == metadata.SequenceNr);
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        _snapshots.RemoveAll(s => Matches(s.Metadata, persistenceId, criteria));
        return Task.CompletedTask;
    }

    private static bool Matches(SnapshotMetadata metadata, string persistenceId, SnapshotSelectionCriteria criteria) =>
        metadata.PersistenceId == persistenceId
        && metadata.SequenceNr >= criteria.MinSequenceNr && metadata.SequenceNr <= criteria.MaxSequenceNr
        && metadata.Timestamp >= criteria.MinTimestamp && metadata.Timestamp <= criteria.MaxTimeStamp;
}

/// <summary>Renders values for failure messages.</summary>
public static class Show
{
    public static string Text(string? value) => value switch
    {
        null => "null",
        "" => "\"\"",
        { Length: > 24 } => $"\"{value[..8]}…\"({value.Length} chars)",
        _ => $"\"{value}\"",
    };

    public static string Bytes(byte[]? bytes) => bytes switch
    {
        null => "null",
        { Length: > 16 } => $"bytes[{bytes.Length}]",
        _ => $"0x{Convert.ToHexString(bytes)}",
    };

    public static string Duration(TimeSpan span) =>
        span.TotalSeconds >= 1 ? $"{span.TotalSeconds:0.###}s" : $"{span.TotalMilliseconds:0}ms";
}
