using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Client;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Issue 15: a member of a consumer group in another actor system (a client) whose process dies. Both systems are
/// reached only through forwarders; stopping them drops every connection and refuses new ones, as a killed process
/// does, and the member's system never gets to say its actors stopped: only the bus's DeathWatch can tell.
/// </summary>
public sealed class RemoteMemberDeathAttacks : LiminalTestKit
{
    // Akka.Remote's watch failure detector declares an address unreachable after its heartbeat pause (10 s by default).
    private static readonly TimeSpan DeathWatch = TimeSpan.FromSeconds(90);

    private readonly int _busPort;
    private readonly int _busPublicPort;

    public RemoteMemberDeathAttacks() : this(HostSpecs.FreePort(), HostSpecs.FreePort())
    {
    }

    private RemoteMemberDeathAttacks(int busPort, int busPublicPort) : base(TestDatabase.NewPath(), RemoteConfig(busPort, busPublicPort))
    {
        _busPort = busPort;
        _busPublicPort = busPublicPort;
    }

    private static Config RemoteConfig(int port, int publicPort) =>
        ConfigurationFactory.ParseString($"akka.remote.dot-netty.tcp {{ port = {port}, public-port = {publicPort} }}")
            .WithFallback(LiminalClient.ClientConfig());

    /// <summary>Holds what it is given, never acks, and tells the test.</summary>
    private sealed class HoldingMember : ReceiveActor
    {
        public HoldingMember(IActorRef report) => Receive<Delivery>(delivery => report.Tell(delivery));
    }

    /// <summary>Acks everything it gets and tells the test.</summary>
    private sealed class AckingMember : ReceiveActor
    {
        public AckingMember(IActorRef report)
        {
            Receive<Delivery>(delivery =>
            {
                Sender.Tell(new Ack(delivery.Channel, delivery.Consumer!, delivery.Partition, delivery.SequenceNr!.Value));
                report.Tell(delivery);
            });
            Receive<Acked>(_ => { });
        }
    }

    [Fact]
    public async Task A_remote_member_whose_process_dies_has_its_unacked_messages_given_to_the_others_once_DeathWatch_fires()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        var busForwarder = new TcpForwarder("127.0.0.1", _busPort, _busPublicPort);
        var memberPort = HostSpecs.FreePort();
        var memberPublicPort = HostSpecs.FreePort();
        var memberSystem = ActorSystem.Create("member",
            ConfigurationFactory.ParseString($"akka.remote.dot-netty.tcp {{ port = {memberPort}, public-port = {memberPublicPort} }}")
                .WithFallback(LiminalClient.ClientConfig()));
        var memberForwarder = new TcpForwarder("127.0.0.1", memberPort, memberPublicPort);
        try
        {
            var remoteReport = CreateTestProbe(memberSystem);
            var remoteMember = memberSystem.ActorOf(Props.Create(() => new HoldingMember(remoteReport.Ref)), "holder");
            var channels = memberSystem.ActorSelection($"akka.tcp://{Sys.Name}@127.0.0.1:{_busPublicPort}{bus.Channels.Path.ToStringWithoutAddress()}");
            channels.Tell(new SubscribeDurable("orders", "billing", remoteMember, new ConsumerOptions()), remoteReport.Ref);
            remoteReport.ExpectMsg<ConsumerSubscribed>(TimeSpan.FromSeconds(30));
            var localReport = CreateTestProbe();
            var stayer = Sys.ActorOf(Props.Create(() => new AckingMember(localReport.Ref)), "stayer");
            Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", stayer, new ConsumerOptions()));

            const int Messages = 20;
            for (var n = 0; n < Messages; n++)
                Ask<PublishAck>(bus.Channels, new Publish("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), "shop")));
            // Round robin: the remote member holds about half. Every message is with one of the two before it dies.
            var held = new List<long>();
            var acked = new List<long>();
            AwaitCondition(() =>
            {
                while (remoteReport.HasMessages)
                    held.Add(remoteReport.ExpectMsg<Delivery>().SequenceNr!.Value);
                while (localReport.HasMessages)
                    acked.Add(localReport.ExpectMsg<Delivery>().SequenceNr!.Value);
                return held.Count + acked.Count == Messages;
            }, TimeSpan.FromSeconds(30));
            Assert.NotEmpty(held);
            Assert.Empty(held.Intersect(acked));

            await memberForwarder.StopAsync();
            await busForwarder.StopAsync();

            var handedOver = localReport.ReceiveN(held.Count, DeathWatch).Cast<Delivery>().ToList();
            Assert.Equal(held.Order(), handedOver.Select(d => d.SequenceNr!.Value).Order());
            Assert.All(handedOver, d => Assert.Equal(2, d.Attempt));
            AwaitAssert(() =>
            {
                var info = Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing"));
                Assert.Equal((1, new PartitionConsumerInfo(0, Messages, Messages, 0, held.Count, 0)), (info.Members, info.Partitions.Single()));
            });
        }
        finally
        {
            await memberForwarder.DisposeAsync();
            await busForwarder.DisposeAsync();
            Shutdown(memberSystem);
        }
    }
}
