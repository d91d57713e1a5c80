using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>Kill-and-recover on SQLite on disk for durable channels, keys and consumer offsets.</summary>
public sealed class ChannelRecoverySpecs : LiminalTestKit
{
    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true, OrderSchema.FilePath)] };

    private static Publish Order(string id) => new("orders", new MessageEnvelope(OrderSchema.Order(id), "shop"), id);


    [Fact]
    public void After_a_restart_the_log_holds_every_acknowledged_message_and_continues_its_sequence()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        foreach (var id in new[] { "o1", "o2", "o3" })
            Ask<PublishAck>(bus.Channels, Order(id));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);

            recovered.Channels.Tell(new Replay("orders", 0, 1, probe.Ref), probe.Ref);
            Assert.Equal(["o1", "o2", "o3"], probe.ReceiveN(3).Cast<Delivery>().Select(OrderSchema.OrderIdOf));
            Assert.Equal(new ReplayCompleted("orders", 0, 3), probe.ExpectMsg<ReplayCompleted>());

            Assert.Equal(4, Ask<PublishAck>(recovered.Channels, Order("o4"), probe).SequenceNr);
            var duplicate = Ask<PublishAck>(recovered.Channels, Order("o2"), probe);
            Assert.True(duplicate.Duplicate);
            Assert.Contains("\"sequenceNr\":2", System.Text.Encoding.UTF8.GetString(duplicate.Receipt!.Bytes));
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void A_channel_created_at_run_time_exists_again_after_a_restart()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        Ask<ChannelCreated>(bus.Channels, new CreateChannel(new ChannelDefinition("invoices", Durable: true, OrderSchema.FilePath, Partitions: 2)));
        var ack = Ask<PublishAck>(bus.Channels, new Publish("invoices", new MessageEnvelope(OrderSchema.Order("i1"), "shop"), "i1"));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);

            // Each durable channel comes with its dead-letter channel (SPEC §2.6).
            Assert.Equal(["invoices", "invoices.dlq", "orders", "orders.dlq"], Ask<ChannelList>(recovered.Channels, GetChannels.Instance, probe).Names);
            Assert.Contains("already exists", Ask<ChannelRejected>(recovered.Channels, new CreateChannel(new ChannelDefinition("invoices", true)), probe).Reason);
            // Its schema still applies, and its key and log are still there.
            Assert.Equal(PublishFailure.SchemaMismatch,
                Ask<PublishRejected>(recovered.Channels, new Publish("invoices", new MessageEnvelope("{}"u8.ToArray(), "shop")), probe).Reason);
            Assert.True(Ask<PublishAck>(recovered.Channels, new Publish("invoices", new MessageEnvelope(OrderSchema.Order("i1"), "shop"), "i1"), probe).Duplicate);
            recovered.Channels.Tell(new Replay("invoices", ack.Partition, 1, probe.Ref), probe.Ref);
            Assert.Equal("i1", OrderSchema.OrderIdOf(probe.ExpectMsg<Delivery>()));
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
