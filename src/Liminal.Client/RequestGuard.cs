using Akka.Actor;
using Akka.Event;
using Liminal.Actors.Channels;
using Liminal.Actors.Validation;

namespace Liminal.Client;

/// <summary>
/// Stands in the client's actor system in front of one of the host's actors. A request the bus would reject as
/// malformed (<see cref="RequestValidation"/>) is answered here, typed, and never sent: above all one too large for
/// Akka.Remote's frame, which Akka.Remote drops with a log line and no answer (a 10 MB publish was never answered).
/// Everything else is forwarded, so the host answers the caller directly.
/// </summary>
/// <remarks>
/// The guard watches the host's actor. When it dies (the host stopped, crashed or restarted: a ref resolved from one
/// incarnation of the host is dead for every later one, Akka.Remote drops what is sent to it), the guard answers every
/// request with its family's "retry later" rejection (<see cref="HostUnreachable"/>) and resolves the same path again,
/// 200 ms apart at first, growing to 2 s, until the host is back. Then it sends the new incarnation every
/// <see cref="SubscribeDurable"/> it forwarded that is still wanted, with itself as the sender: the subscriber's code
/// asked once and is not asked again, it just receives deliveries again; a refusal of the new incarnation is logged.
/// </remarks>
internal sealed class RequestGuard : UntypedActor, IWithTimers
{
    internal static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(200);
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly ActorPath _path;
    private readonly int _maxPayloadBytes;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _host;
    private DurableSubscriptions _subscriptions = DurableSubscriptions.Empty;
    private long _episode;
    private int _attempts;
    private TimeSpan _backoff = MinBackoff;

    public RequestGuard(IActorRef host, int maxPayloadBytes)
    {
        _host = host;
        _path = host.Path;
        _maxPayloadBytes = maxPayloadBytes;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef host, int maxPayloadBytes) =>
        Akka.Actor.Props.Create(() => new RequestGuard(host, maxPayloadBytes));

    protected override void PreStart() => Context.Watch(_host);

    protected override void OnReceive(object message)
    {
        if (message is Terminated terminated && terminated.ActorRef.Equals(_host))
            Unreachable();
        else if (!Bookkeeping(message))
        {
            if (RequestValidation.Reject(message, _maxPayloadBytes) is { } rejection)
            {
                Sender.Tell(rejection);
                return;
            }
            Remember(message);
            _host.Forward(message);
        }
    }

    private void Reconnecting(object message)
    {
        switch (message)
        {
            case Probe:
                _attempts++;
                Context.ActorSelection(_path.ToString()).Tell(new Identify(_episode), Self);
                Timers.StartSingleTimer(Probe.Instance, Probe.Instance, _backoff);
                _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
                break;
            case ActorIdentity { Subject: { } host } identity when Equals(identity.MessageId, _episode):
                Reached(host);
                break;
            case ActorIdentity:
                break;   // an earlier attempt's, or the host is up but its actor is not (yet)
            default:
                if (!Bookkeeping(message))
                    Sender.Tell(RequestValidation.Reject(message, _maxPayloadBytes) ?? HostUnreachable.Rejection(message));
                break;
        }
    }

    /// <summary>What the guard handles itself whether the host is reachable or not: a subscriber's end, a re-subscribe's answer.</summary>
    private bool Bookkeeping(object message)
    {
        switch (message)
        {
            case Terminated terminated:
                _subscriptions = _subscriptions.ForgetSubscriber(terminated.ActorRef);
                return true;
            case ConsumerSubscribed or ChannelRejected:
                ResubscribeAnswered(message);
                return true;
            default:
                return false;
        }
    }

    private void Unreachable()
    {
        _episode++;
        _attempts = 0;
        _backoff = MinBackoff;
        _log.Warning("{0} is unreachable (its host stopped, crashed or restarted): requests are answered '{1}' until it is " +
                     "back; resolving it again every {2} to {3} ms", _path, LiminalClient.BusUnreachable,
            MinBackoff.TotalMilliseconds, MaxBackoff.TotalMilliseconds);
        Become(Reconnecting);
        Timers.StartSingleTimer(Probe.Instance, Probe.Instance, _backoff);
    }

    private void Reached(IActorRef host)
    {
        Timers.Cancel(Probe.Instance);
        _host = host;
        Context.Watch(host);
        foreach (var subscribe in _subscriptions.All)
            host.Tell(subscribe, Self);
        _log.Info("{0} is reachable again after {1} attempts; {2} durable subscriptions sent again", _path, _attempts, _subscriptions.Count);
        Become(OnReceive);
    }

    private void Remember(object request)
    {
        switch (request)
        {
            // One the host will refuse as malformed is remembered all the same: re-sending it is refused again, and it
            // goes with its subscriber; a missing subscriber or name cannot be a key, and could never be re-sent usefully.
            case SubscribeDurable { Channel: not null, Consumer: not null, Subscriber: not null } subscribe:
                _subscriptions = _subscriptions.Remember(subscribe);
                Context.Watch(subscribe.Subscriber);
                break;
            case DeleteConsumer { Channel: not null, Consumer: not null } delete:
                var subscribers = _subscriptions.SubscribersOf(delete.Channel, delete.Consumer).ToList();
                _subscriptions = _subscriptions.ForgetConsumer(delete.Channel, delete.Consumer);
                foreach (var subscriber in subscribers.Where(subscriber => !_subscriptions.Remembers(subscriber)))
                    Context.Unwatch(subscriber);
                break;
        }
    }

    // Only a re-sent subscription has the guard as its sender; its subscriber is not told (it asked nothing this time),
    // and it stays remembered: the refusal may pass (a channel still loading), and the next restart sends it again.
    private void ResubscribeAnswered(object answer)
    {
        if (answer is ChannelRejected rejected)
            _log.Warning("{0} refused to resume a durable subscription to channel '{1}' after reconnecting: {2}",
                _path, rejected.Channel, rejected.Reason);
    }

    private sealed class Probe
    {
        public static readonly Probe Instance = new();
    }
}
