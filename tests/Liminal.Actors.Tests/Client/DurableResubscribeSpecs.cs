using Akka.Actor;
using TestProbe = Akka.TestKit.TestProbe;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Client;

namespace Liminal.Actors.Tests.Client;

/// <summary>
/// Issue 15: <c>Liminal.Client</c> sends its durable subscriptions again by itself when the host comes back after a
/// stop, crash or restart, and answers requests meanwhile with typed "retry later" rejections. The host is a stand-in
/// (<see cref="StandInHost"/>) that records what reaches it, so what a new incarnation is sent is seen exactly.
/// </summary>
public sealed class DurableResubscribeSpecs() : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig()), IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    // A restart is noticed by Akka.Remote's death watch (at once after a clean stop, after the association's 5 s gate or
    // the watch failure detector's 10 s pause after a crash) and then resolved at the next attempt (2 s apart at most).
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(60);

    private static readonly ConsumerOptions Options = new() { MaxAckPending = 7, DeliverFrom = new DeliverFrom.New() };

    // The recorder's copy has crossed the wire twice: its subscriber is the same actor under the address it was sent from.
    private static (string, string, string, ConsumerOptions) Seen(SubscribeDurable subscribe) =>
        (subscribe.Channel, subscribe.Consumer, subscribe.Subscriber.Path.ToStringWithoutAddress(), subscribe.Options);

    private static IEnumerable<(string, string, string, ConsumerOptions)> Seen(IEnumerable<SubscribeDurable> subscriptions) =>
        subscriptions.Select(Seen).OrderBy(seen => (seen.Item1, seen.Item2, seen.Item3));

    private T Ask<T>(IActorRef target, object request)
    {
        target.Tell(request, TestActor);
        return ExpectMsg<T>(Patience);
    }

    private (SubscribeDurable Request, TestProbe Subscriber) SubscribeDurable(LiminalBus bus, TestProbe host, string consumer, TestProbe? subscriber = null)
    {
        subscriber ??= CreateTestProbe();
        var request = new SubscribeDurable("orders", consumer, subscriber.Ref, Options);
        Assert.Equal(new ConsumerSubscribed("orders", consumer), Ask<ConsumerSubscribed>(bus.Channels, request));
        Assert.Equal(Seen(request), Seen(host.ExpectMsg<SubscribeDurable>(Patience)));
        Assert.Equal(consumer, subscriber.ExpectMsg<Delivery>(Patience).Consumer);
        return (request, subscriber);
    }

    /// <summary>
    /// Waits for the first subscription the new incarnation is sent, then sends a marker through the guard and returns
    /// every subscription that arrived before it: the guard sends them all at once when it reaches the host, before it
    /// forwards anything else, so the list is complete. The new host's answers to them go to the guard: the test, which
    /// subscribed before the restart, gets the marker's answer and nothing before it.
    /// </summary>
    private List<SubscribeDurable> SubscriptionsSentAgain(LiminalBus bus, TestProbe host)
    {
        var sent = new List<SubscribeDurable> { host.ExpectMsg<SubscribeDurable>(Reconnect) };
        bus.Channels.Tell(GetChannels.Instance, TestActor);
        while (host.ExpectMsg<object>(Patience) is SubscribeDurable again)
            sent.Add(again);
        ExpectMsg<ChannelList>(Patience);
        return sent;
    }

    private readonly List<StandInHost> _hosts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var host in _hosts)
            await host.DisposeAsync();
    }

    private StandInHost StartHost(int port, TestProbe recorder, int? publicPort = null)
    {
        var host = StandInHost.Start(port, recorder.Ref, publicPort);
        _hosts.Add(host);
        return host;
    }

    /// <summary>A stand-in host on a free port recording to <c>Recorder</c>, and the client's bus connected to it.</summary>
    private async Task<(int Port, StandInHost Host, TestProbe Recorder, LiminalBus Bus)> ConnectedAsync()
    {
        var port = HostSpecs.FreePort();
        var recorder = CreateTestProbe();
        var host = StartHost(port, recorder);
        return (port, host, recorder, await LiminalClient.ConnectAsync(Sys, "127.0.0.1", port));
    }

    /// <summary>Stops the host cleanly and waits until all four of the client's refs have noticed.</summary>
    private async Task StopAsync(StandInHost host) =>
        await EventFilter.Warning(contains: "is unreachable").ExpectAsync(4, host.StopAsync, Reconnect);

    [Fact]
    public async Task A_host_restarted_after_a_clean_stop_is_sent_the_durable_subscription_again_and_the_subscriber_receives_again()
    {
        var (port, first, before, bus) = await ConnectedAsync();
        var (request, subscriber) = SubscribeDurable(bus, before, "billing");

        await StopAsync(first);
        var after = CreateTestProbe();
        StartHost(port, after);

        Assert.Equal(Seen([request]), Seen(SubscriptionsSentAgain(bus, after)));
        var delivery = subscriber.ExpectMsg<Delivery>(Patience);
        Assert.Equal(("orders", "billing"), (delivery.Channel, delivery.Consumer));
    }

    [Fact]
    public async Task A_host_that_vanished_without_a_word_and_came_back_on_its_address_is_sent_the_durable_subscription_again()
    {
        // The client reaches the stand-in through a forwarder; stopping the forwarder drops the connections as a killed
        // process does, and the first stand-in never gets to tell anyone its actors stopped.
        var publicPort = HostSpecs.FreePort();
        var before = CreateTestProbe();
        var firstPort = HostSpecs.FreePort();
        StartHost(firstPort, before, publicPort);
        var forwarder = new TcpForwarder("127.0.0.1", firstPort, publicPort);
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", publicPort);
        var (request, subscriber) = SubscribeDurable(bus, before, "billing");

        await forwarder.DisposeAsync();
        var after = CreateTestProbe();
        var secondPort = HostSpecs.FreePort();
        StartHost(secondPort, after, publicPort);
        await using var secondForwarder = new TcpForwarder("127.0.0.1", secondPort, publicPort);

        Assert.Equal(Seen([request]), Seen(SubscriptionsSentAgain(bus, after)));
        Assert.Equal("billing", subscriber.ExpectMsg<Delivery>(Patience).Consumer);
    }

    [Fact]
    public async Task Requests_while_the_host_is_unreachable_get_their_familys_retry_later_rejection_and_are_not_sent_later()
    {
        var (port, first, before, bus) = await ConnectedAsync();
        var (request, _) = SubscribeDurable(bus, before, "billing");

        await StopAsync(first);
        var envelope = new MessageEnvelope("{}"u8.ToArray(), "shop");
        Assert.Equal(new PublishRejected("orders", PublishFailure.Overloaded, LiminalClient.BusUnreachable),
            Ask<PublishRejected>(bus.Channels, new Publish("orders", envelope, "k1")));
        Assert.Equal(new ChannelRejected("orders", LiminalClient.BusUnreachable),
            Ask<ChannelRejected>(bus.Channels, new SubscribeDurable("orders", "shipping", CreateTestProbe().Ref, Options)));
        Assert.Equal(new AckRejected("orders", "billing", 0, 1, LiminalClient.BusUnreachable),
            Ask<AckRejected>(bus.Channels, new Ack("orders", "billing", 0, 1)));
        Assert.Equal((DedupRejection.Overloaded, LiminalClient.BusUnreachable),
            Ask<DedupRejected>(bus.Dedup, new ClaimOrGet("k1")) is var dedup ? (dedup.Reason, dedup.Detail) : default);
        Assert.Equal((ConversationRejections.Overloaded, LiminalClient.BusUnreachable),
            Ask<ConversationRejected>(bus.Conversations, new ReceiveMessage("c1", "m1")) is var conversation
                ? (conversation.Reason, conversation.Detail) : default);
        Assert.Equal(new OffsetRequestRejected("billing", LiminalClient.BusUnreachable),
            Ask<OffsetRequestRejected>(bus.Offsets, new CommitOffset("billing", "orders", 3)));
        // A malformed request still gets what is wrong with it, not "retry".
        Assert.Equal(PublishFailure.UnknownChannel, Ask<PublishRejected>(bus.Channels, new Publish("", envelope)).Reason);

        var after = CreateTestProbe();
        StartHost(port, after);
        // The subscription refused during the outage is not among those sent again, nor is anything else asked then.
        Assert.Equal(Seen([request]), Seen(SubscriptionsSentAgain(bus, after)));
    }

    [Fact]
    public async Task A_consumer_deleted_through_the_client_or_a_subscriber_that_stopped_is_not_sent_again()
    {
        var (port, first, before, bus) = await ConnectedAsync();
        var (billing, member) = SubscribeDurable(bus, before, "billing");
        SubscribeDurable(bus, before, "shipping", member);
        var (_, stopping) = SubscribeDurable(bus, before, "audit");
        var (secondMember, _) = SubscribeDurable(bus, before, "billing");

        Assert.Equal(new ConsumerDeleted("orders", "shipping"), Ask<ConsumerDeleted>(bus.Channels, new DeleteConsumer("orders", "shipping")));
        Assert.Equal(new DeleteConsumer("orders", "shipping"), before.ExpectMsg<DeleteConsumer>(Patience));
        Watch(stopping.Ref);
        Sys.Stop(stopping.Ref);
        ExpectTerminated(stopping.Ref, Patience);

        await StopAsync(first);
        var after = CreateTestProbe();
        StartHost(port, after);

        Assert.Equal(Seen([billing, secondMember]), Seen(SubscriptionsSentAgain(bus, after)));
    }
}
