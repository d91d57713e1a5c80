using System.Collections.Immutable;
using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Client;

/// <summary>
/// The <see cref="SubscribeDurable"/> requests a guard forwarded and re-sends to a restarted host, one per channel,
/// consumer and subscriber (the latest wins). One goes when its consumer is deleted through the guard or its subscriber
/// stops, so what is kept never outlives the subscribers that asked for it.
/// </summary>
internal sealed record DurableSubscriptions(ImmutableDictionary<(string Channel, string Consumer, IActorRef Subscriber), SubscribeDurable> ByKey)
{
    public static DurableSubscriptions Empty { get; } = new(ImmutableDictionary<(string, string, IActorRef), SubscribeDurable>.Empty);

    /// <summary>What a restarted host is sent again.</summary>
    public IEnumerable<SubscribeDurable> All => ByKey.Values;

    public int Count => ByKey.Count;

    public bool Remembers(IActorRef subscriber) => ByKey.Keys.Any(key => key.Subscriber.Equals(subscriber));

    public DurableSubscriptions Remember(SubscribeDurable subscribe) =>
        new(ByKey.SetItem((subscribe.Channel, subscribe.Consumer, subscribe.Subscriber), subscribe));

    public DurableSubscriptions ForgetConsumer(string channel, string consumer) =>
        new(ByKey.RemoveRange(ByKey.Keys.Where(key => key.Channel == channel && key.Consumer == consumer)));

    public DurableSubscriptions ForgetSubscriber(IActorRef subscriber) =>
        new(ByKey.RemoveRange(ByKey.Keys.Where(key => key.Subscriber.Equals(subscriber))));

    /// <summary>The subscribers whose subscriptions a deletion of this consumer forgets.</summary>
    public IEnumerable<IActorRef> SubscribersOf(string channel, string consumer) =>
        ByKey.Keys.Where(key => key.Channel == channel && key.Consumer == consumer).Select(key => key.Subscriber).Distinct();
}
