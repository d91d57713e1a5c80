using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Liminal.Actors.Channels;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// The keys that f8113fc stored in partition 0 of <c>orders</c> without a partition key are routed there still
/// (<c>LegacyKeysRecovered</c>). Such a key that leaves the window and is published again is stored in partition 0
/// anew; the router must keep sending its retries there, also after a restart, or it is stored a second time in the
/// partition its hash names.
/// </summary>
public sealed class LegacyKeyRoutingAttacks : LiminalTestKit
{
    public LegacyKeyRoutingAttacks() : base(CopyOfFixture("f8113fc")) =>
        Clock.SetUtcNow(DateTimeOffset.Parse("2026-01-01T00:01:18Z"));

    private static string CopyOfFixture(string version)
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", version, "liminal.db");
        var copy = TestDatabase.NewPath();
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(fixture, copy);
        File.Copy(SqlJournalConfig.SnapshotPathFor(fixture), SqlJournalConfig.SnapshotPathFor(copy));
        return copy;
    }

    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("audit", Durable: true)] };

    private static Publish Retry(string key) => new("orders", new MessageEnvelope("{\"orderId\":\"again\"}"u8.ToArray(), "shop"), key);

    [Fact]
    public void A_legacy_key_stored_again_after_its_window_is_still_a_duplicate_after_a_restart()
    {
        // pub-o-04 was stored by f8113fc in partition 0 of orders; its hash names partition 1.
        Assert.Equal(1, DedupKeys.ShardOf("pub-o-04", 2));
        var bus = LiminalBus.Start(Sys, Settings);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));
        // Partition 0 has recovered and reported its legacy keys (the router routes nothing before): a retry of one
        // of them is answered from partition 0.
        var legacy = Ask<PublishAck>(bus.Channels, Retry("pub-o-06"));
        Assert.Equal((true, 0, 4L), (legacy.Duplicate, legacy.Partition, legacy.SequenceNr));

        // A day later the key has left the window (default: the 24 h dedup TTL): publishing it again stores it again.
        Clock.Advance(TimeSpan.FromHours(25));
        var stored = Ask<PublishAck>(bus.Channels, Retry("pub-o-04"));
        Assert.Equal((false, 0, 7L), (stored.Duplicate, stored.Partition, stored.SequenceNr));
        subscriber.ExpectMsg<Delivery>();
        var retry = Ask<PublishAck>(bus.Channels, Retry("pub-o-04"));
        Assert.Equal((true, 0, 7L), (retry.Duplicate, retry.Partition, retry.SequenceNr));
        Shutdown(Sys);

        // The same instant, after a restart: the key was stored a moment ago, so a retry is still its duplicate.
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);
            var subscriber2 = CreateTestProbe(restarted);
            Ask<Subscribed>(recovered.Channels, new Subscribe("orders", subscriber2.Ref), probe);
            var again = Ask<PublishAck>(recovered.Channels, Retry("pub-o-04"), probe);
            Assert.Equal((true, 0, 7L), (again.Duplicate, again.Partition, again.SequenceNr));
            subscriber2.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}

/// <summary>
/// A multi-partition channel holds every publish in its router until partition 0 has recovered and reported its
/// legacy keys. Attacks on that wait: the drain, and the other partitions.
/// </summary>
public sealed class PartitionZeroRecoveryAttacks : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static readonly ChannelDefinition Orders = new("orders", Durable: true, Partitions: 2);

    private IActorRef StartRegistry(string name) =>
        Sys.ActorOf(ChannelRegistry.Props(
            [(Orders, ChannelSchema.AnyJson)],
            new PartitionSettings(TimeSpan.FromHours(24), 250_000, 1_000, Clock),
            EntityParentSettings.Default with { MinBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) }), name);

    private static Publish Unkeyed(string publisherId) => new("orders", new MessageEnvelope("{}"u8.ToArray(), publisherId));

    /// <summary>A first run of the channel leaves a message in partition 0, so the next start has something to replay.</summary>
    private void FirstRunStoresAMessageInPartition0()
    {
        var first = StartRegistry("channels-first-run");
        Assert.Equal(0, Ask<PublishAck>(first, Unkeyed("first-run")).Partition);
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);
    }

    [Fact]
    public async Task Drain_is_not_answered_before_a_publish_that_waited_for_partition_0_is_written()
    {
        FirstRunStoresAMessageInPartition0();
        var recovery = new HeldJournalMessage(m => m.PersistenceId == "channel-orders-0");
        await Journal.OnRecovery.SetInterceptorAsync(recovery);
        var channels = StartRegistry("channels");
        await recovery.Held.Task.WaitAsync(Patience);   // partition 0 is replaying: the router holds publishes meanwhile
        Ask<ChannelList>(channels, GetChannels.Instance);   // the registry itself has recovered and routes publishes
        var write = new HeldJournalMessage(m => m.Payload is MessageAppended { PublisherId: "late" });
        await Journal.OnWrite.SetInterceptorAsync(write);

        var probe = CreateTestProbe();
        channels.Tell(Unkeyed("late"), probe.Ref);          // accepted before the drain
        channels.Tell(DrainPublishes.Instance, probe.Ref);
        // Behind both at the router: once this is answered, the router holds the publish and has sent on the drain.
        Ask<Subscribed>(channels, new Subscribe("orders", CreateTestProbe().Ref));
        recovery.Release();
        await write.Held.Task.WaitAsync(Patience);         // its write is at the journal, held there

        var early = probe.ReceiveOne(TimeSpan.FromSeconds(1));
        write.Release();
        Assert.True(early is null, $"{early} came while a publish accepted before the drain was still being written");
        probe.ExpectMsg<PublishAck>(Patience);
        probe.ExpectMsg<Drained>(Patience);
    }

    [Fact]
    public async Task A_publish_for_partition_1_is_answered_while_partition_0_cannot_recover()
    {
        FirstRunStoresAMessageInPartition0();
        // Partition 0's log cannot be read (a row it cannot deserialize, a failing disk): every recovery fails.
        await Journal.OnRecovery.SetInterceptorAsync(new FailedRecoveryOf("channel-orders-0"));
        var channels = StartRegistry("channels");

        Assert.Equal(1, DedupKeys.ShardOf("customer-1", 2));
        var publisher = CreateTestProbe();
        channels.Tell(new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "shop"), "k1") { PartitionKey = "customer-1" }, publisher.Ref);

        // Partition 1 is healthy and this publish names it: it owes nothing to partition 0's legacy keys.
        var reply = publisher.ReceiveOne(Patience);
        Assert.True(reply is PublishAck { Partition: 1 }, $"expected an ack from partition 1, got {reply?.ToString() ?? "no reply at all"}");
    }
}

/// <summary>
/// SPEC §2.4.6: publishes of one producer to one partition are stored and delivered in the order sent. A producer
/// pipelines publishes while the partition's journal write fails once and the partition restarts.
/// </summary>
public sealed class PipelinedOrderAttacks : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_producers_pipelined_publishes_are_stored_in_the_order_sent_across_a_partition_restart()
    {
        // A schema the router takes a moment to check (a 1,000-item array): the router has a backlog when the
        // partition stops, as under any real load.
        var schemaPath = Path.Combine(Path.GetTempPath(), "liminal-tests", $"padded-{Guid.NewGuid():N}.schema.json");
        Directory.CreateDirectory(Path.GetDirectoryName(schemaPath)!);
        await File.WriteAllTextAsync(schemaPath, """
            { "type": "object", "required": ["i", "pad"],
              "properties": { "i": { "type": "integer" }, "pad": { "type": "array", "items": { "type": "integer", "minimum": 0 } } } }
            """);
        var orders = new ChannelDefinition("orders", Durable: true, schemaPath);
        var (schema, error) = await ChannelSchema.LoadAsync(orders);
        Assert.Null(error);
        var channels = Sys.ActorOf(ChannelRegistry.Props([(orders, schema!)],
            new PartitionSettings(TimeSpan.FromHours(24), 250_000, 1_000, Clock),
            EntityParentSettings.Default with { MinBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(100) }), "channels");
        var pad = string.Join(",", Enumerable.Range(0, 1000));
        Publish Message(int i) => new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"i":{{i}},"pad":[{{pad}}]}"""), "producer"));
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(channels, new Subscribe("orders", subscriber.Ref));
        Ask<PublishAck>(channels, Message(-1));
        subscriber.ExpectMsg<Delivery>();
        var partition = await Sys.ActorSelection("/user/channels/orders/0").ResolveOne(Patience);
        var deadLetters = CreateTestProbe();
        Sys.EventStream.Subscribe(deadLetters.Ref, typeof(DeadLetter));

        // The first write of the stream fails (connection lost): the partition stops and its parent restarts it.
        var gated = new GatedFirstWrite(p => p is MessageAppended, reject: false);
        await Journal.OnWrite.SetInterceptorAsync(gated);
        var producer = CreateTestProbe();
        for (var i = 0; i < 2000; i++)
            channels.Tell(Message(i), producer.Ref);
        await gated.Held.Task.WaitAsync(Patience);
        gated.Gate.SetResult();
        // The router is still sending the stream to the stopped partition; the producer keeps publishing.
        for (var n = 0; n < 20; n++)
            deadLetters.FishForMessage<DeadLetter>(d => d.Recipient.Equals(partition), Patience);
        for (var i = 2000; i < 2300; i++)
            channels.Tell(Message(i), producer.Ref);

        var acked = 0;
        for (var i = 0; i < 2300; i++)
        {
            var reply = producer.ExpectMsg<object>(Patience);
            Assert.True(reply is PublishAck or PublishRejected { Reason: PublishFailure.PersistFailed or PublishFailure.Overloaded }, $"{reply}");
            acked += reply is PublishAck ? 1 : 0;
        }
        var stored = subscriber.ReceiveN(acked, Patience).Cast<Delivery>()
            .Select(d => (d.SequenceNr, Sent: JsonDocument.Parse(d.Envelope.Payload).RootElement.GetProperty("i").GetInt32()))
            .ToList();
        var overtaken = stored.Zip(stored.Skip(1), (First, Second) => (First, Second)).Where(pair => pair.Second.Sent < pair.First.Sent).ToList();
        Assert.True(overtaken.Count == 0,
            $"{overtaken.Count} publishes were stored after one the producer sent later, e.g. (sequence number, sent as) " +
            string.Join(", ", overtaken.Take(3).Select(pair => $"{pair.First} then {pair.Second}")));
    }
}

/// <summary>
/// SPEC §5 and CONVENTIONS ("validate every id ... well-formed Unicode"): a publish's PublisherId is an id that is
/// stored with the message. Not introduced by 38dd2a4 (the router before it did not check it either).
/// </summary>
public sealed class PublisherIdAttacks : LiminalTestKit
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("shop-<lone surrogate>")]   // stored as U+FFFD: a replay names another publisher than the live delivery
    public void A_publish_with_a_missing_or_malformed_publisher_id_is_rejected_and_nothing_is_stored(string? publisherId)
    {
        publisherId = publisherId?.Replace("<lone surrogate>", "\ud800");
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });

        var reply = Ask<object>(bus.Channels, new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), publisherId!), "k1"));

        Assert.True(reply is PublishRejected, $"{reply}");
        Assert.Equal(0, JournalRows("channel-orders-"));
    }
}

/// <summary>
/// GUARD (passes on 38dd2a4): a keyed write the journal rejects (nothing stored) fails the duplicates that waited for
/// it with the same failure, leaves no key behind, and the retry is stored and delivered once.
/// </summary>
public sealed class RejectedKeyedWriteGuards : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static Publish Keyed(string key) => new("orders", new MessageEnvelope("{}"u8.ToArray(), "shop"), key);

    [Fact]
    public async Task Duplicates_waiting_for_a_rejected_keyed_write_get_its_failure_and_a_retry_is_stored_once()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));
        Ask<PublishAck>(bus.Channels, Keyed("warm-up"));
        subscriber.ExpectMsg<Delivery>();
        var gated = new GatedFirstWrite(p => p is MessageAppended { IdempotencyKey: "k" }, reject: true);
        await Journal.OnWrite.SetInterceptorAsync(gated);

        var first = CreateTestProbe();
        var waiting = CreateTestProbe();
        bus.Channels.Tell(Keyed("k"), first.Ref);
        await gated.Held.Task.WaitAsync(Patience);
        bus.Channels.Tell(Keyed("k"), waiting.Ref);   // its key is being written: it waits
        bus.Channels.Tell(Keyed("other"), first.Ref);
        // Answered from the window at once, behind both: once it is, the duplicate has surely been decided.
        Assert.True(Ask<PublishAck>(bus.Channels, Keyed("warm-up")).Duplicate);
        gated.Gate.SetResult();

        Assert.Equal(PublishFailure.PersistFailed, first.ExpectMsg<PublishRejected>(Patience).Reason);
        Assert.Equal(PublishFailure.PersistFailed, waiting.ExpectMsg<PublishRejected>(Patience).Reason);
        // "other" after it (the rejected write used up sequence number 2: Akka never reuses one).
        Assert.Equal(3, first.ExpectMsg<PublishAck>(Patience).SequenceNr);
        Assert.Equal(3, subscriber.ExpectMsg<Delivery>().SequenceNr);

        var retry = Ask<PublishAck>(bus.Channels, Keyed("k"));
        Assert.Equal((false, 4L), (retry.Duplicate, retry.SequenceNr!.Value));
        Assert.Equal(4, subscriber.ExpectMsg<Delivery>().SequenceNr);
        var again = Ask<PublishAck>(bus.Channels, Keyed("k"));
        Assert.Equal((true, 4L, retry.Receipt), (again.Duplicate, again.SequenceNr!.Value, again.Receipt));
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }
}

/// <summary>Holds the first journal message (written or replayed) that matches until released; then it passes.</summary>
internal sealed class HeldJournalMessage(Func<IPersistentRepresentation, bool> matches) : IJournalInterceptor
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _taken;

    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    public async Task InterceptAsync(IPersistentRepresentation message)
    {
        if (!matches(message) || Interlocked.Exchange(ref _taken, 1) == 1)
            return;
        Held.TrySetResult();
        await _gate.Task;
    }
}

internal sealed class FailedRecoveryOf(string persistenceId) : IJournalInterceptor
{
    public Task InterceptAsync(IPersistentRepresentation message) =>
        message.PersistenceId == persistenceId
            ? throw new TestJournalFailureException($"attack: the log of {persistenceId} cannot be read")
            : Task.CompletedTask;
}