package gossipdb

import (
	"context"
	"slices"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// Finding peers. Every node (unless Options.NoDiscovery) runs a Kademlia DHT
// with its peers under dhtPrefix, so it never joins the public IPFS DHT. It
// serves the DHT unless AutoNAT found it unreachable (ModeAutoServer): on a LAN
// or loopback, where AutoNAT cannot tell, every node serves, as the lookups
// need; behind a NAT a node only asks. For each subscribed collection it advertises itself as a
// provider of the collection's topic (the schema ID string) and, while it has
// fewer than Options.PeersPerCollection connected peers subscribed to the
// topic, looks up providers and connects to them.
const (
	dhtPrefix protocol.ID = "/gossipdb"
	// mdnsServiceName is the DNS-SD service gossipdb nodes announce on the LAN;
	// only gossipdb nodes answer it.
	mdnsServiceName = "_gossipdb._udp"

	maxPeersPerCollection = 64

	// discoveryTick is how often the discovery loop counts each collection's
	// peers; DHT work happens only when due (see below).
	discoveryTick = time.Second
	// A collection is advertised at once, then again each time the node's DHT
	// routing table has doubled since (while a network forms, the early records
	// sit on the few peers known then, and advertising again puts them on the
	// peers closest to the key in the grown network), and at least every
	// advertiseMax; an advertisement that failed is retried after advertiseMin.
	advertiseMin = 2 * time.Second
	advertiseMax = 30 * time.Minute
	// A lookup for a collection short of peers runs at once; after one that
	// connected no new peer the next waits twice as long, from findMin up to
	// findMax, until the collection's peers change (a peer that found this
	// node, or left): the network has changed, so the wait starts over.
	findMin = time.Second
	findMax = 30 * time.Second
	// findMaxAlone caps the wait while the node has no peer at all on the
	// collection: then it has nobody to receive changes from.
	findMaxAlone = 4 * time.Second
	// discoveryTimeout bounds one advertisement, one lookup and one dial.
	discoveryTimeout = 10 * time.Second

	// collectionTag protects, in the connection manager, up to
	// PeersPerCollection peers of each subscribed collection.
	collectionTag = "gossipdb-collection"
	// mdnsTag marks peers found on the LAN; they are not protected, so the
	// connection manager trims those that share no collection first.
	mdnsTag   = "gossipdb-mdns"
	mdnsValue = 5
	// mdnsYield is how long the node with the greater peer ID waits for a LAN
	// peer to dial it before it dials (see HandlePeerFound).
	mdnsYield = 2 * time.Second
)

// discoverer finds peers for the node: the DHT lookups by collection and mDNS.
type discoverer struct {
	n      *Node
	target int

	dht    *dht.IpfsDHT               // nil with Options.NoDiscovery
	router *drouting.RoutingDiscovery // nil with Options.NoDiscovery
	mdns   interface{ Close() error } // nil unless Options.MDNS

	// Owned by the loop goroutine.
	state     map[string]*topicDiscovery // by topic
	protected map[peer.ID]bool
}

// topicDiscovery is when a collection's next advertisement and lookup are due.
// The loop starts each in a goroutine of its own, so that a slow DHT walk
// delays nothing else; mu guards the fields the goroutines update.
type topicDiscovery struct {
	mu                      sync.Mutex
	advertising, finding    bool // in flight
	nextAdvertise, nextFind time.Time
	findEvery               time.Duration
	advertisedTable         int // routing table size at the last advertisement
	peers                   int // connected subscribers at the last round
}

// startDiscovery starts the DHT, the discovery loop and mDNS as the options
// ask. On error the caller closes the node, which stops what was started.
func (n *Node) startDiscovery() error {
	d := &discoverer{
		n:         n,
		target:    n.opts.PeersPerCollection,
		state:     map[string]*topicDiscovery{},
		protected: map[peer.ID]bool{},
	}
	n.discovery = d
	if !n.opts.NoDiscovery {
		kad, err := dht.New(n.host,
			dht.Mode(dht.ModeAutoServer),
			dht.ProtocolPrefix(dhtPrefix),
			dht.DisableValues(),
		)
		if err != nil {
			return err
		}
		d.dht = kad
		d.router = drouting.NewRoutingDiscovery(kad)
	}
	n.goFunc(d.loop)
	if n.opts.MDNS {
		s := mdns.NewMdnsService(n.host, mdnsServiceName, d)
		if err := s.Start(); err != nil {
			return err
		}
		d.mdns = s
	}
	return nil
}

// close stops mDNS and the DHT. The node's context is already cancelled.
func (d *discoverer) close() error {
	var err error
	if d.mdns != nil {
		err = d.mdns.Close()
	}
	if d.dht != nil {
		if cerr := d.dht.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// HandlePeerFound connects to a node announced on the LAN (mdns.Notifee).
func (d *discoverer) HandlePeerFound(info peer.AddrInfo) {
	n := d.n
	if info.ID == n.host.ID() || n.closing() {
		return
	}
	n.goFunc(func() {
		if n.host.ID() > info.ID {
			// Both nodes hear each other at once. Were both to dial, from
			// their listening ports (TCP reuses them), the two dials could
			// meet as one TCP connection that each side takes for its own
			// outgoing one, and fail. The greater peer ID leaves the dial to
			// the other, unless it has not come after mdnsYield.
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(mdnsYield):
			}
			if n.host.Network().Connectedness(info.ID) == network.Connected {
				return
			}
		}
		ctx, cancel := context.WithTimeout(n.ctx, discoveryTimeout)
		defer cancel()
		if err := n.host.Connect(ctx, info); err != nil {
			n.log.Debug("LAN peer unreachable", logKeyPeerID, info.ID.String(), logKeyError, err)
			return
		}
		n.host.ConnManager().TagPeer(info.ID, mdnsTag, mdnsValue)
		n.log.Info("Found peer on the LAN", logKeyPeerID, info.ID.String())
	})
}

// loop advertises the subscribed collections, finds their peers (unless
// Options.NoDiscovery) and protects them until the node closes.
func (d *discoverer) loop() {
	t := time.NewTicker(discoveryTick)
	defer t.Stop()
	for {
		d.round(time.Now())
		select {
		case <-d.n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// subscribedTopics returns the topics of the subscribed collections.
func (n *Node) subscribedTopics() map[string]*pubsub.Topic {
	n.topics.mu.Lock()
	defer n.topics.mu.Unlock()
	out := map[string]*pubsub.Topic{}
	for _, ts := range n.topics.byName {
		if ts.sub != nil {
			out[ts.topic.String()] = ts.topic
		}
	}
	return out
}

// round does the discovery work that is due at now for every subscribed
// collection, then protects each one's peers.
func (d *discoverer) round(now time.Time) {
	topics := d.n.subscribedTopics()
	for name := range d.state {
		if topics[name] == nil {
			delete(d.state, name)
		}
	}
	table := 0
	if d.dht != nil {
		table = d.dht.RoutingTable().Size()
	}
	keep := map[peer.ID]bool{}
	for name, t := range topics {
		st := d.state[name]
		if st == nil {
			st = &topicDiscovery{findEvery: findMin}
			d.state[name] = st
		}
		peers := t.ListPeers()
		if d.router != nil {
			d.schedule(name, st, now, table, slices.Clone(peers))
		}
		slices.Sort(peers)
		for _, p := range peers[:min(len(peers), d.target)] {
			keep[p] = true
		}
	}
	if d.n.closing() {
		return
	}
	cm := d.n.host.ConnManager()
	for p := range d.protected {
		if !keep[p] {
			cm.Unprotect(p, collectionTag)
			delete(d.protected, p)
		}
	}
	for p := range keep {
		if !d.protected[p] {
			cm.Protect(p, collectionTag)
			d.protected[p] = true
		}
	}
}

// schedule starts the advertisement and the lookup of topic that are due at
// now and not in flight; table is the size of the DHT routing table, peers
// the topic's connected subscribers.
func (d *discoverer) schedule(topic string, st *topicDiscovery, now time.Time, table int, peers []peer.ID) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.advertising && (!now.Before(st.nextAdvertise) || table >= 2*max(st.advertisedTable, 1)) {
		st.advertising = true
		d.n.goFunc(func() {
			ok := d.advertise(topic)
			st.mu.Lock()
			defer st.mu.Unlock()
			st.advertising = false
			if ok {
				st.advertisedTable = table
				st.nextAdvertise = time.Now().Add(advertiseMax)
			} else {
				st.nextAdvertise = time.Now().Add(advertiseMin)
			}
		})
	}
	if len(peers) != st.peers && st.findEvery > findMin {
		st.findEvery, st.nextFind = findMin, now
	}
	st.peers = len(peers)
	if !st.finding && len(peers) < d.target && !now.Before(st.nextFind) {
		st.finding = true
		d.n.goFunc(func() {
			connected := d.find(topic, peers)
			st.mu.Lock()
			defer st.mu.Unlock()
			st.finding = false
			switch {
			case connected > 0:
				st.findEvery = findMin
			case len(peers) == 0:
				st.findEvery = min(2*st.findEvery, findMaxAlone)
			default:
				st.findEvery = min(2*st.findEvery, findMax)
			}
			st.nextFind = time.Now().Add(st.findEvery)
		})
	}
}

// advertise records in the DHT that this node is subscribed to topic, and
// reports whether it did.
func (d *discoverer) advertise(topic string) bool {
	ctx, cancel := context.WithTimeout(d.n.ctx, discoveryTimeout)
	defer cancel()
	if _, err := d.router.Advertise(ctx, topic); err != nil {
		if d.n.ctx.Err() == nil {
			d.n.log.Debug("Cannot advertise collection yet", logKeyTopic, topic, logKeyError, err)
		}
		return false
	}
	return true
}

// find looks up peers subscribed to topic and connects, in parallel, to as
// many as it takes to reach the target beside have, the topic's connected
// peers. It returns how many new connections it made.
func (d *discoverer) find(topic string, have []peer.ID) int {
	ctx, cancel := context.WithTimeout(d.n.ctx, discoveryTimeout)
	defer cancel()
	lookup, stop := context.WithCancel(ctx)
	defer stop()
	found, err := d.router.FindPeers(lookup, topic, discovery.Limit(4*d.target))
	if err != nil {
		return 0
	}
	self := d.n.host.ID()
	want := d.target - len(have)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		connected int
	)
	for info := range found {
		if want == 0 {
			continue // drain: the lookup ends with stop
		}
		if info.ID == self || slices.Contains(have, info.ID) || len(info.Addrs) == 0 {
			continue
		}
		if d.n.host.Network().Connectedness(info.ID) == network.Connected {
			continue // not known on the topic yet: pubsub will say
		}
		want--
		wg.Go(func() {
			if err := d.n.host.Connect(ctx, info); err != nil {
				d.n.log.Debug("Collection peer unreachable", logKeyPeerID, info.ID.String(), logKeyTopic, topic, logKeyError, err)
				return
			}
			d.n.log.Debug("Found collection peer", logKeyPeerID, info.ID.String(), logKeyTopic, topic)
			mu.Lock()
			connected++
			mu.Unlock()
		})
		if want == 0 {
			stop() // enough candidates; the dials keep ctx
		}
	}
	wg.Wait()
	return connected
}
