using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Client;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Host;

/// <summary>The host as a separate process on SQLite, killed with SIGKILL mid-stream or stopped with SIGTERM.</summary>
public sealed class HostProcessSpecs(ITestOutputHelper output) : HostProcessSpecsBase(output)
{
    [Fact]
    public Task After_SIGKILL_every_acknowledged_message_is_stored_once_and_every_key_is_delivered_exactly_once() =>
        KillRestartAndRepublishAsync();

    [Fact]
    public Task SIGTERM_lets_the_publishes_in_flight_finish_and_every_acknowledged_one_is_stored() =>
        TerminateRestartAndReplayAsync();
}

/// <summary>The same SIGKILL run with the host journaling to PostgreSQL (<c>.ci/run</c> provides the server).</summary>
public sealed class PostgreSqlHostProcessSpecs(ITestOutputHelper output) : HostProcessSpecsBase(output)
{
    [SkippableFact]
    public Task After_SIGKILL_on_PostgreSQL_every_acknowledged_message_is_stored_once_and_every_key_is_delivered_exactly_once()
    {
        PostgreSqlServer.Require();
        return KillRestartAndRepublishAsync();
    }

    protected override IReadOnlyDictionary<string, string> Journal => PostgreSqlJournal;

    protected override string DedupNamespace => Unique;
}

public abstract class HostProcessSpecsBase(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig())
{
    protected const int Keys = 5000;

    protected ITestOutputHelper TestOutput { get; } = output;

    /// <summary>Unique per spec, so specs can share a PostgreSQL database.</summary>
    protected string Unique { get; } = $"e{Guid.NewGuid():N}"[..13];

    /// <summary>The channel the specs publish to (defined by a config file given to the host).</summary>
    protected string Channel => $"{Unique}-orders";

    protected virtual IReadOnlyDictionary<string, string> Journal => new Dictionary<string, string>();

    /// <summary>The host's settings for the PostgreSQL of <c>.ci/run</c>, with a dedup namespace of this spec's own.</summary>
    protected IReadOnlyDictionary<string, string> PostgreSqlJournal => new Dictionary<string, string>
    {
        ["LIMINAL__JOURNAL__KIND"] = "postgresql",
        ["LIMINAL__JOURNAL__POSTGRESQL_CONNECTION_STRING"] = PostgreSqlServer.ConnectionString,
        ["LIMINAL__DEDUP__NAMESPACE"] = Unique,
    };

    protected virtual string DedupNamespace => "default";

    private protected HostProcess NewHost()
    {
        var databasePath = TestDatabase.NewPath();
        Directory.CreateDirectory(Path.GetDirectoryName(databasePath)!);
        var configFile = Path.Combine(Path.GetDirectoryName(databasePath)!, $"{Unique}.conf");
        File.WriteAllText(configFile, $$"""liminal.channels = [ { name = "{{Channel}}", durable = true } ]""");
        var environment = new Dictionary<string, string>(Journal)
        {
            ["LIMINAL__JOURNAL__SQLITE_PATH"] = databasePath,
            ["LIMINAL__HOST__HEALTH_PORT"] = HostSpecs.FreePort().ToString(),
            ["LIMINAL__HOST__REMOTE__PORT"] = HostSpecs.FreePort().ToString(),
            ["LIMINAL__DEDUP__SHARDS"] = "8",
        };
        return new HostProcess(Path.GetDirectoryName(databasePath)!, ["--config", configFile], environment);
    }

    private static string KeyOf(Delivery delivery) => OrderSchema.OrderIdOf(delivery);

    private Publish Order(int i) =>
        new(Channel, new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"orderId":"k{{i}}","amount":{{i}}}"""), "e2e"), $"{Unique}-k{i}");

    protected async Task KillRestartAndRepublishAsync()
    {
        var delivered = new List<string>();

        using (var host = NewHost())
        {
            var remotePort = host.RemotePort;
            host.Start();
            await host.WaitUntilReadyAsync();
            var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort, DedupNamespace);
            var subscriber = CreateTestProbe();
            bus.Channels.Tell(new Subscribe(Channel, subscriber.Ref), TestActor);
            ExpectMsg<Subscribed>(TimeSpan.FromSeconds(10));

            var publisher = CreateTestProbe();
            for (var i = 0; i < Keys; i++)
                bus.Channels.Tell(Order(i), publisher.Ref);
            // Killed once a few are acknowledged: the other publishes are anywhere between sent, stored and acknowledged.
            var acked = publisher.ReceiveN(Keys / 20, TimeSpan.FromSeconds(60)).Cast<PublishAck>().ToList();
            host.Kill();
            acked.AddRange(publisher.ReceiveWhile(TimeSpan.FromSeconds(1), m => m as PublishAck).OfType<PublishAck>());
            delivered.AddRange(subscriber.ReceiveWhile(TimeSpan.FromSeconds(1), m => m is Delivery d ? KeyOf(d) : null).OfType<string>());
            TestOutput.WriteLine($"before the kill: {acked.Count} acknowledged, {delivered.Count} delivered");

            host.Start();
            await host.WaitUntilReadyAsync();
            var recovered = await ConnectAfterRestartAsync(remotePort);

            // Every acknowledged message is in the log, and no message is there twice.
            var stored = StoredMessages(recovered);
            var log = stored.Select(KeyOf).ToList();
            Assert.Equal(log.Count, log.Distinct().Count());
            var storedSequenceNrs = stored.Select(d => d.SequenceNr).ToHashSet();
            Assert.All(acked, ack => Assert.Contains(ack.SequenceNr, storedSequenceNrs));

            // The client re-publishes everything (one producer, pipelined): a key stored before the kill is a duplicate
            // naming its stored position, never in flight (SPEC §2.4: nothing to release, nothing to take over); a key
            // the kill left unstored is stored and delivered now, once.
            var resubscriber = CreateTestProbe();
            recovered.Channels.Tell(new Subscribe(Channel, resubscriber.Ref), TestActor);
            ExpectMsg<Subscribed>(TimeSpan.FromSeconds(10));
            var republisher = CreateTestProbe();
            for (var i = 0; i < Keys; i++)
                recovered.Channels.Tell(Order(i), republisher.Ref);
            var answers = republisher.ReceiveN(Keys, TimeSpan.FromSeconds(60)).Cast<PublishAck>().ToList();
            var redelivered = this.DeliveredSoFar(Sys, recovered.Channels, Channel, 1, resubscriber).Single().Select(KeyOf).ToList();
            TestOutput.WriteLine($"after the restart: log {log.Count}, re-publishes answered as duplicates {answers.Count(a => a.Duplicate)}, " +
                             $"stored and delivered now {redelivered.Count}");

            Assert.All(answers, a => Assert.False(a.InFlight));
            // Each stored message is named by exactly one duplicate answer; every other re-publish stored a new one.
            Assert.Equal(stored.Select(d => d.SequenceNr).Order(), answers.Where(a => a.Duplicate).Select(a => a.SequenceNr).Order());
            Assert.All(answers.Where(a => !a.Duplicate), a => Assert.True(a.SequenceNr > stored.Count, $"{a} names a position stored before the kill"));
            Assert.All(log, key => Assert.DoesNotContain(key, redelivered));
            Assert.Equal(delivered.Count, delivered.Distinct().Count());
            Assert.Equal(redelivered.Count, redelivered.Distinct().Count());
            Assert.All(delivered, key => Assert.Contains(key, log));
            Assert.Equal(Keys, log.Count + redelivered.Count);
            host.Kill();
        }
    }

    /// <summary>Everything in the channel's log, read back through Replay.</summary>
    private List<Delivery> StoredMessages(LiminalBus bus)
    {
        var replay = CreateTestProbe();
        bus.Channels.Tell(new Replay(Channel, 0, 1, replay.Ref), replay.Ref);
        var stored = replay.ReceiveWhile(TimeSpan.FromSeconds(10), m => m as Delivery, msgs: Keys + 1).OfType<Delivery>().ToList();
        replay.ExpectMsg<ReplayCompleted>(TimeSpan.FromSeconds(10));
        return stored;
    }

    private async Task<LiminalBus> ConnectAfterRestartAsync(int remotePort)
    {
        // The client may keep the old incarnation's address gated for a moment: retry until the new one answers.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort, DedupNamespace, TimeSpan.FromSeconds(3));
            }
            catch (ActorNotFoundException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    protected async Task TerminateRestartAndReplayAsync()
    {
        using var host = NewHost();
        var remotePort = host.RemotePort;
        host.Start();
        await host.WaitUntilReadyAsync();
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort, DedupNamespace);

        var publisher = CreateTestProbe();
        for (var i = 0; i < Keys; i++)
            bus.Channels.Tell(Order(i), publisher.Ref);
        var replies = publisher.ReceiveN(1, TimeSpan.FromSeconds(30)).ToList();
        Assert.Equal(0, host.Terminate());
        replies.AddRange(publisher.ReceiveWhile(TimeSpan.FromSeconds(2), m => m));

        // Every answer is an ack or a typed refusal naming the shutdown; nothing else.
        Assert.All(replies, reply => Assert.True(
            reply is PublishAck || reply is PublishRejected { Reason: PublishFailure.ShuttingDown }, $"unexpected {reply}"));
        var acked = replies.OfType<PublishAck>().ToList();
        TestOutput.WriteLine($"SIGTERM: {acked.Count} acknowledged, {replies.OfType<PublishRejected>().Count()} refused as shutting down, " +
                         $"{Keys - replies.Count} unanswered (the connection closed)");

        host.Start();
        await host.WaitUntilReadyAsync();
        var recovered = await ConnectAfterRestartAsync(remotePort);
        var stored = StoredMessages(recovered);
        var storedSequenceNrs = stored.Select(d => d.SequenceNr).ToHashSet();
        Assert.All(acked, ack => Assert.Contains(ack.SequenceNr, storedSequenceNrs));
    }
}
