using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// A journal write that times out although the database stores it: its outcome is unknown, so the bus must never
/// act as if nothing was written (SPEC §2.4 step 5). The publisher is told <c>PersistFailed</c>; the message is
/// stored once, and its retry is answered from what was stored (a duplicate with the stored position).
/// </summary>
public abstract class ChannelJournalTimeoutSpecs(Config journalConfig) : LiminalTestKit(journalConfig)
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Makes the ids of this spec unique in a shared database.</summary>
    protected abstract string Prefix { get; }

    protected virtual void RequireDatabase() { }

    private LiminalSettings Settings => DefaultSettings with
    {
        Channels = [new ChannelDefinition(Channel, Durable: true)],
        Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
    };

    private string Channel => $"{Prefix}orders";

    private Publish Keyed(string key) => new(Channel, new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"key":"{{key}}"}"""), "shop"), $"{Prefix}{key}");

    [SkippableFact]
    public async Task A_keyed_publish_whose_write_times_out_is_rejected_as_PersistFailed_and_its_retry_finds_the_message_stored_once()
    {
        RequireDatabase();
        var bus = LiminalBus.Start(Sys, Settings);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(Channel, subscriber.Ref));
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, Keyed("warm-up")).SequenceNr);
        Assert.Equal("warm-up", KeyOf(subscriber.ExpectMsg<Delivery>()));
        // A durable consumer of the log, running through the fault: every stored message reaches it once, none is skipped.
        var target = CreateTestProbe();
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable(Channel, "billing", target.Ref, new ConsumerOptions()));
        Assert.Equal("warm-up", Consume(target));

        var withheld = Withholding.Arm(Sys, ChannelPartition.PersistenceIdOf(Channel, 0));
        bus.Channels.Tell(Keyed("order-1"), TestActor);
        await withheld.Stored.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The breaker reports the write as failed; only then does the database answer.
        var rejected = ExpectMsg<PublishRejected>(TimeSpan.FromSeconds(30));
        withheld.Release.TrySetResult();
        Assert.Equal(PublishFailure.PersistFailed, rejected.Reason);

        bus.Channels.Tell(Keyed("order-1"), TestActor);
        var retry = ExpectMsg<PublishAck>(TimeSpan.FromSeconds(30));
        Assert.Equal((2L, true, false, 0, false), (retry.SequenceNr, retry.Duplicate, retry.Delivered, retry.DeliveredCount, retry.InFlight));
        Assert.Equal((Channel, 0, 2L), ChannelReading.ReadReceipt(retry.Receipt!));
        var next = Ask<PublishAck>(bus.Channels, Keyed("order-2"));
        Assert.Equal((3L, false), (next.SequenceNr, next.Duplicate));

        Assert.Equal(["warm-up", "order-1", "order-2"], this.ReadLog(Sys, bus.Channels, Channel, 0).Select(KeyOf));
        // Live, order-1 was handed out at most once (its fan-out is unknown); order-2 once, after it.
        var live = new List<string> { KeyOf(subscriber.ExpectMsg<Delivery>()) };
        if (live[0] == "order-1")
            live.Add(KeyOf(subscriber.ExpectMsg<Delivery>()));
        Assert.Equal("order-2", live[^1]);
        Assert.True(Ask<PublishAck>(bus.Channels, Keyed("order-1")).Duplicate);
        Assert.Equal(["order-1", "order-2"], new[] { Consume(target), Consume(target) });
        // Nothing more: a message stored after order-2 is the next the subscriber and the consumer get.
        Assert.Equal(4, Ask<PublishAck>(bus.Channels, Keyed("order-3")).SequenceNr);
        Assert.Equal("order-3", KeyOf(subscriber.ExpectMsg<Delivery>()));
        Assert.Equal("order-3", Consume(target));
        AwaitAssert(() => Assert.Equal(new PartitionConsumerInfo(0, 4, 4, 0, 0, 0),
            Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo(Channel, "billing")).Partitions[0]));
    }

    /// <summary>The key of the consumer's next delivery, which the target then acks (and the ack is durable).</summary>
    private static string Consume(Akka.TestKit.TestProbe target)
    {
        // The Acked of the previous one may come before or after this delivery.
        var delivery = (Delivery)target.FishForMessage(message => message is Delivery, TimeSpan.FromSeconds(30));
        Assert.Equal(1, delivery.Attempt);
        target.Reply(new Ack(delivery.Channel, delivery.Consumer!, delivery.Partition, delivery.SequenceNr!.Value));
        return KeyOf(delivery);
    }

    private static string KeyOf(Delivery delivery) =>
        System.Text.Json.JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("key").GetString()!;
}

public sealed class SqliteChannelJournalTimeoutSpecs() : ChannelJournalTimeoutSpecs(
    Withholding.JournalConfig<WithholdingSqliteJournal>(ChannelJournalTimeoutSpecs.CallTimeout)
        .WithFallback(SqlJournalConfig.Sqlite(TestDatabase.NewPath())))
{
    protected override string Prefix => "";
}

public sealed class PostgreSqlChannelJournalTimeoutSpecs() : ChannelJournalTimeoutSpecs(
    Withholding.JournalConfig<WithholdingPluginJournal>(CallTimeout).WithFallback(PostgreSqlServer.JournalConfig))
{
    protected override string Prefix { get; } = $"t{Guid.NewGuid():N}"[..13] + "-";

    protected override void RequireDatabase() => PostgreSqlServer.Require();
}
