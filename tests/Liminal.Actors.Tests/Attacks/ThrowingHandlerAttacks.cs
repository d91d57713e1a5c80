using System.Text;
using System.Text.Json;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Entities;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// An exception inside a persistent entity, while it decides a request or once a write is durable. On 084fd8d the
/// entity restarted: every reply it owed (the other publishes of the same write, those behind it, the request that
/// threw) was lost with the old instance, and nobody was answered. Each request must get its reply, a typed refusal
/// at worst, and the entity must keep serving. On SQLite: the writes are real, held at the journal so that several
/// requests share one.
/// </summary>
public sealed class ThrowingHandlerAttacks() : LiminalTestKit(TestDatabase.NewPath(),
    Withholding.JournalConfig<WithholdingSqliteJournal>(TimeSpan.FromMinutes(5)))
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    // A first write creates the SQLite tables: longer than the default wait on a loaded machine.
    private T Ask<T>(IActorRef target, object request)
    {
        target.Tell(request, TestActor);
        return ExpectMsg<T>(Patience);
    }

    private static Publish Message(int n, string? key = null) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""), "shop"), key);

    private static int N(Delivery delivery) => JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("n").GetInt32();

    private LiminalBus StartBus() => LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });

    [Fact]
    public async Task A_subscriber_whose_Tell_throws_costs_no_publish_of_the_write_its_reply_and_the_partition_keeps_serving()
    {
        var bus = StartBus();
        var healthy = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", healthy.Ref));
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, Message(1)).SequenceNr);
        Assert.Equal(1, N(healthy.ExpectMsg<Delivery>()));
        var provider = ((ExtendedActorSystem)Sys).Provider;
        var failing = new ThrowsOnFirstDelivery(ThrowsOnEveryMessage.PathIn(Sys, "failing-subscriber"), provider, CreateTestProbe().Ref, always: true);
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", failing));

        // Publish 2's write is held at the journal; 3, 4 and 5 (one keyed) wait and go in the next write.
        var withheld = Withholding.Arm(Sys, ChannelPartition.PersistenceIdOf("orders", 0));
        var publishers = Enumerable.Range(2, 4).Select(_ => CreateTestProbe()).ToList();
        bus.Channels.Tell(Message(2), publishers[0].Ref);
        await withheld.Stored.Task.WaitAsync(Patience);
        bus.Channels.Tell(Message(3), publishers[1].Ref);
        bus.Channels.Tell(Message(4, key: "k4"), publishers[2].Ref);
        bus.Channels.Tell(Message(5), publishers[3].Ref);
        withheld.Release.TrySetResult();

        // Every publish is stored once and acked with its position; the healthy subscriber gets each, in order, and
        // the failing one does not count as delivered to.
        var acks = publishers.Select(p => p.ExpectMsg<PublishAck>(Patience)).ToList();
        Assert.Equal([2L, 3L, 4L, 5L], acks.Select(a => a.SequenceNr!.Value));
        Assert.All(acks, ack => Assert.Equal((true, 1, false), (ack.Delivered, ack.DeliveredCount, ack.Duplicate)));
        Assert.Equal([2, 3, 4, 5], Enumerable.Range(0, 4).Select(_ => N(healthy.ExpectMsg<Delivery>(Patience))));

        // The partition keeps its key window and takes the next publish.
        var duplicate = Ask<PublishAck>(bus.Channels, Message(4, key: "k4"));
        Assert.Equal((true, 4L), (duplicate.Duplicate, duplicate.SequenceNr));
        Assert.Equal(6, Ask<PublishAck>(bus.Channels, Message(6)).SequenceNr);
        Assert.Equal(6, N(healthy.ExpectMsg<Delivery>(Patience)));
        Assert.Equal(6, JournalRows("channel-orders-"));
    }

    [Fact]
    public async Task A_publisher_whose_ref_throws_while_its_duplicate_is_decided_costs_the_other_publishes_in_flight_nothing()
    {
        var bus = StartBus();
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, Message(1, key: "k1")).SequenceNr);

        var withheld = Withholding.Arm(Sys, ChannelPartition.PersistenceIdOf("orders", 0));
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        bus.Channels.Tell(Message(2), first.Ref);
        await withheld.Stored.Task.WaitAsync(Patience);
        // A duplicate of a stored key is answered as it is decided: telling this sender throws inside the partition.
        bus.Channels.Tell(Message(1, key: "k1"), new ThrowsOnEveryMessage(Sys, "throwing-publisher"));
        bus.Channels.Tell(Message(3), second.Ref);
        withheld.Release.TrySetResult();

        Assert.Equal(2, first.ExpectMsg<PublishAck>(Patience).SequenceNr);
        Assert.Equal(3, second.ExpectMsg<PublishAck>(Patience).SequenceNr);
        Assert.Equal(4, Ask<PublishAck>(bus.Channels, Message(4)).SequenceNr);
        Assert.Equal(4, JournalRows("channel-orders-"));
    }

    [Fact]
    public void A_keyed_publish_to_an_ephemeral_channel_reaches_every_other_subscriber_when_one_subscribers_Tell_throws()
    {
        // The router hands an ephemeral channel's messages out itself. On 084fd8d the throwing subscriber aborted the
        // hand-out: the subscribers after it got nothing and the publisher was told DeliveryFailed ("retry"), yet the
        // key was already taken, so the retry was answered Duplicate and never delivered.
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("ticks", Durable: false)] });
        var provider = ((ExtendedActorSystem)Sys).Provider;
        var failing = new ThrowsOnFirstDelivery(ThrowsOnEveryMessage.PathIn(Sys, "failing-tick-subscriber"), provider, CreateTestProbe().Ref, always: true);
        var healthy = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("ticks", failing));
        Ask<Subscribed>(bus.Channels, new Subscribe("ticks", healthy.Ref));
        var tick = new Publish("ticks", new MessageEnvelope("""{"n":1}"""u8.ToArray(), "clock"), "tick-1");

        var first = Ask<object>(bus.Channels, tick);
        var retry = Ask<PublishAck>(bus.Channels, tick);

        Assert.Equal(1, N(healthy.ExpectMsg<Delivery>()));
        Assert.True(first is PublishAck { Duplicate: false, Delivered: true, DeliveredCount: 1 }, $"expected the tick handed to the healthy subscriber, got {first}");
        Assert.Equal((true, 0), (retry.Duplicate, retry.DeliveredCount));
    }

    [Fact]
    public async Task A_request_whose_Decide_throws_gets_the_typed_failure_and_every_other_request_its_reply()
    {
        var parent = Sys.ActorOf(Props.Create(() => new FaultyParent()));
        Assert.Equal("written 1", Ask<string>(parent, new ToFaulty("a", "write")));

        var withheld = Withholding.Arm(Sys, "faulty-a");
        var probes = Enumerable.Range(0, 4).Select(_ => CreateTestProbe()).ToList();
        parent.Tell(new ToFaulty("a", "write"), probes[0].Ref);
        await withheld.Stored.Task.WaitAsync(Patience);
        parent.Tell(new ToFaulty("a", "write"), probes[1].Ref);
        parent.Tell(new ToFaulty("a", "throw"), probes[2].Ref);
        parent.Tell(new ToFaulty("a", "write"), probes[3].Ref);
        withheld.Release.TrySetResult();

        Assert.StartsWith("refused: ", probes[2].ExpectMsg<string>(Patience));
        Assert.Equal(["written 2", "written 3", "written 4"], new[] { probes[0], probes[1], probes[3] }.Select(p => p.ExpectMsg<string>(Patience)));
        Assert.Equal("written 5", Ask<string>(parent, new ToFaulty("a", "write")));
        Assert.Equal(5, JournalRows("faulty-a"));
    }

    private sealed record ToFaulty(string Id, string Command);

    /// <summary>An entity whose <c>Decide</c> throws on "throw" (a bug in an entity): every other command is a write.</summary>
    private sealed class FaultyEntity(string id) : PersistentEntity<MessageAppended>
    {
        public override string PersistenceId { get; } = $"faulty-{id}";

        protected override long SnapshotEvery => 1_000;

        protected override void RestoreSnapshot(object snapshot) { }

        protected override void Apply(MessageAppended @event) { }

        protected override object Snapshot() => throw new NotSupportedException();

        protected override Conflict ConflictOf(object command) => Conflict.None;

        protected override void Decide(object command, IActorRef sender)
        {
            if (command is "throw")
                throw new InvalidOperationException("injected: a bug in Decide");
            Persist([new MessageAppended("{}"u8.ToArray(), "faulty", null, null)], command, sender, sequenceNr => $"written {sequenceNr}");
        }

        protected override object FailureFor(object command, string detail) => $"refused: {detail}";
    }

    private sealed class FaultyParent() : EntityParent(new Extractor(), EntityParentSettings.Default, TimeProvider.System)
    {
        protected override Props EntityProps(string entityId) => Props.Create(() => new FaultyEntity(entityId));

        protected override object? Overloaded(object message) => "overloaded";
    }

    private sealed class Extractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) => (message as ToFaulty)?.Id;

        public object EntityMessage(object message) => ((ToFaulty)message).Command;
    }
}
