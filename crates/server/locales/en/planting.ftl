# Planting pages: the catalog and groups (/plant), my certificates, the public check (/verify)
# and the NGO portal (/ngo).

## /plant
plant-title = Plant a tree
plant-lede = Turn your green energy into a real tree or protected land, planted by an NGO.
plant-catalog = What you can plant
plant-catalog-empty = Nothing can be planted yet: the catalog is empty.
plant-art-alt = Drawing of { $name }
plant-demo = demo value
plant-demo-hint = This cost, quota or site is an example, not taken from a source.
plant-cost = Cost
plant-cost-tree = { $grams } g per tree
plant-cost-m2 = { $grams } g per m²
plant-site = Site
plant-ngo = Planted by
plant-seasons = Seasons
plant-season = { $from } to { $to }
plant-season-any = Any time of year
plant-quota = Left
plant-left = { $left } of { $quota } { $unit } left
plant-unit-tree = trees
plant-unit-m2 = m²
plant-sold-out = Sold out: this quota is used up.
plant-units-m2 = Square metres to protect
plant-submit = Plant for { $grams } g
plant-protect = Protect this land
plant-month-1 = January
plant-month-2 = February
plant-month-3 = March
plant-month-4 = April
plant-month-5 = May
plant-month-6 = June
plant-month-7 = July
plant-month-8 = August
plant-month-9 = September
plant-month-10 = October
plant-month-11 = November
plant-month-12 = December
plant-refused-energy = Not enough green energy: your wallet (or the group's pot) holds less than this costs. Collect more energy and try again.
plant-refused-sold-out = Sold out: there is not that much left of this item's quota.
plant-refused-units = That amount cannot be planted: a tree is one per pledge, land 1 to 10,000 m².
plant-refused-item = That item is not in the catalog (any more).
plant-refused-request = This form has expired. Reload the page and try again.
plant-refused-daily-pot-cap = That is more than you may put into this pot today. Try a smaller amount, or tomorrow.
plant-refused-already-member = That person is a member of the group already.
plant-refused-group-full = The group is full.
plant-refused-group-name = A group's name has 1 to 60 characters.
plant-refused-group-kind = Choose what kind of group it is.
plant-refused-grams = Enter a whole number of grams, at least 1, no more than your wallet holds.
plant-refused-handle = A handle has 3 to 32 characters: letters, digits, _ . -
plant-refused-no-such-user = Nobody has that handle.
plant-refused-code = No group has that code. Ask a member for the code shown on their page.
plant-refused-not-invited = You can join a group once a member has invited you.
plant-refused-not-member = Only the group's members can do that.
plant-groups-title = My co-planting groups
plant-groups-lede = Family, couple, class or organisation: pool energy in a pot and plant together. Every member who pays holds the certificate with their share.
plant-groups-none = You are not in a group yet.
plant-group-pot = Pot
plant-group-my-share = My share
plant-group-code = Group code
plant-group-members = Members
plant-group-member-left = { $grams } g (left the group)
plant-group-feed-grams = Grams from my wallet
plant-group-feed = Feed the pot
plant-group-plant-item = Plant from the pot
plant-group-plant-units = Trees or m²
plant-group-plant = Plant together
plant-group-invite-handle = Invite by handle
plant-group-invite = Invite
plant-group-leave = Leave the group
plant-group-create-title = Start a group
plant-group-name = Name
plant-group-kind = Kind
plant-group-create = Create the group
plant-group-join-title = Join a group
plant-group-join-hint = A member invites you by your handle, then gives you the group code from their page.
plant-group-join = Join
plant-group-kind-family = Family
plant-group-kind-couple = Couple
plant-group-kind-class = Class
plant-group-kind-organisation = Organisation
plant-group-created = Your group is ready. Invite people by their handle.
plant-group-invited = Invited. Give them the group code so they can join.
plant-group-joined = You joined the group.
plant-group-left = You left the group. What you put into the pot stays there under your name.
plant-group-fed = The pot has grown.

## Certificates
certificates-title = My trees
certificates-lede = Every tree and piece of land you hold, from pledge to verified planting.
certificates-none = You have not planted anything yet.
certificates-plant = Plant your first tree
certificates-back = All my trees
certificate-number = Certificate
certificate-planted-notice = Thank you! Your tree is pledged. The NGO plants it in its season; this page follows it.
certificate-facts = What it certifies
certificate-where = Where
certificate-photos = Evidence photos
certificate-lineage = Which actions funded it
certificate-lineage-hint = The oldest energy is spent first.
certificate-pdf = Download the certificate (PDF)
certificate-verify = Check it publicly
cert-status-label = Status
cert-status-hint = Pledged → ordered from the NGO → planted (with evidence) → verified by a second person.
cert-status-pledged = Pledged
cert-status-ordered = Ordered
cert-status-planted = Planted
cert-status-verified = Verified
cert-step-done = done
cert-coordinates = { $latitude }, { $longitude }
cert-compass-N = N
cert-compass-S = S
cert-compass-E = E
cert-compass-W = W
cert-lineage-action = { $count ->
    [one] 1 { $action } ({ $grams } g)
   *[other] { $count } × { $action } ({ $grams } g)
}
cert-lineage-watering = { $count ->
    [one] 1 watering from a friend ({ $grams } g)
   *[other] { $count } waterings from friends ({ $grams } g)
}
cert-lineage-grant = { $count ->
    [one] 1 grant from the operator ({ $grams } g)
   *[other] { $count } grants from the operator ({ $grams } g)
}
cert-lineage-other = other energy ({ $grams } g)
cert-lineage-total = In all
cert-map-title = Map of the site and planting of certificate { $number }
cert-map-planted = planted { $date }
cert-units-trees = { $count ->
    [one] 1 tree
   *[other] { $count } trees
}
cert-units-m2 = { $count } m²
cert-fact-what = Certifies
cert-fact-energy = Energy
cert-fact-holders = Held by
cert-fact-ngo = Planted by
cert-fact-site = Site
cert-fact-season = Season
cert-fact-pledged = Pledged on
cert-fact-planted = Planted on
cert-fact-coordinates = Coordinates
cert-fact-verified = Verified on
cert-fact-not-yet = not yet
cert-photo-alt = Planting evidence for certificate { $number }

## /verify
verify-title = Check a certificate
verify-lede = Anyone can check that a certificate is real: its records must be in the operator's signed public log.
verify-number = Certificate number
verify-number-hint = As printed on the certificate, e.g. OF-7K3MQ-9QXD2.
verify-submit = Check
verify-bad-number = A certificate number looks like OF-7K3MQ-9QXD2: OF, then two groups of five letters or digits.
verify-unknown = There is no certificate { $number }. Check the number and try again.
verify-valid = This certificate checks out: { $status } is proven by the signed log.
verify-invalid = This certificate does NOT check out.
verify-pending = Not checkable yet: its newest records are not in the signed log. Try again in a minute.
verify-checked = What was checked
verify-check-signature = The log's signed tree head verifies with this operator's key.
verify-check-inclusion = Every record of the certificate is included in the signed log.
verify-check-grams = The logged energy entries add up to the grams the certificate claims.
verify-check-status = The status is backed by planting records in the log.
verify-check-passed = Passed
verify-check-failed = Failed
verify-check-pending = Pending
verify-problems = What failed
verify-record-entry = energy entry
verify-record-planting = planting record
verify-problem-format = The proof document is not in a format this server knows.
verify-problem-other-key = The proof names another log key than this operator's.
verify-problem-bad-head = The signed tree head does not verify: { $reason }
verify-problem-not-included = Record { $record } ({ $kind }) at leaf { $leaf } is not in the signed log: { $reason }
verify-problem-unrelated = Record { $record } does not belong to this certificate.
verify-problem-grams = The logged entries pay { $proven } g, but the certificate claims { $claimed } g.
verify-problem-status = The certificate says { $status }, but the log holds no record that it was { $event }.
verify-problem-pending = { $count ->
    [one] 1 record is not in the log yet.
   *[other] { $count } records are not in the log yet.
}
verify-problem-no-head = The log has not published a signed tree head yet.
verify-log = Signed log: { $size } records, root { $root }
verify-experts = For experts
verify-experts-text = Check it yourself, offline: openforest verify-certificate with the operator's public log key, on the PDF or on the proof document.
verify-document = The proof document (JSON)
verify-json = This check as JSON

## /ngo
ngo-title = NGO portal
ngo-not-member = This page is for NGO members. Ask the operator to add your account to your NGO.
ngo-orders = Our orders
ngo-orders-none = No orders yet. Pledges become orders every hour.
ngo-order = Order
ngo-order-placed = Placed on
ngo-order-all-planted = Everything in this order is planted.
ngo-order-open = Open the order
ngo-order-lines = What was ordered
ngo-back = All orders
ngo-line = ordered: { $units } · planted: { $planted } · verified: { $verified } · pledges: { $pledges }
ngo-units = { $count ->
    [one] 1 unit
   *[other] { $count } units
}
ngo-item-choice = { $name } ({ $left } left to plant)
ngo-map-title = Map of the site and the batches of the { $season } order
ngo-api-key = the NGO's system (API key)
ngo-queue = Verification queue
ngo-queue-hint = A second person checks each batch's evidence; whoever recorded a batch cannot verify it.
ngo-queue-empty = Nothing waits for verification.
ngo-verify = Verify this batch
ngo-verify-waiting = You recorded this batch: another member verifies it.
ngo-verify-own = You recorded this batch, so another member must verify it.
ngo-verified = Batch verified. Its certificates now say verified.
ngo-recorded = Batch recorded. Its certificates now say planted; another member verifies it.
ngo-batches = Batches
ngo-batches-none = No batch recorded yet.
ngo-pledges = Pledges in this order
ngo-batch-title = Record a planting batch
ngo-batch-item-id = Species or land
ngo-batch-units = Trees planted (or m² protected)
ngo-batch-units-hint = Whole pledges, oldest first: the count must end on a pledge.
ngo-batch-planted-on = Planting date
ngo-batch-gps = GPS point
ngo-batch-latitude = Latitude
ngo-batch-longitude = Longitude
ngo-batch-place = Where
ngo-batch-polygon = Planted area (GeoJSON Polygon, optional)
ngo-batch-polygon-hint = A closed ring of [longitude, latitude] positions, e.g. {"{"}"type": "Polygon", "coordinates": [[[105.70, 38.85], [105.72, 38.85], [105.72, 38.87], [105.70, 38.85]]]{"}"}
ngo-batch-note = Note
ngo-batch-photo = Photo
ngo-batch-photo-hint = A JPEG, PNG or WebP image, up to { $megabytes } MB.
ngo-batch-photo-alt = Planting evidence of
ngo-batch-recorded-by = Recorded by
ngo-batch-submit = Record the batch
ngo-batch-error-form = The form could not be read. Reload the page and send it again.
ngo-batch-error-item = choose one of the order's items.
ngo-batch-error-units = a whole number, at least 1.
ngo-batch-error-more-than-ordered = more than this order still has to plant.
ngo-batch-error-splits = a batch covers whole pledges; this count ends inside one.
ngo-batch-error-date = a date written YYYY-MM-DD, today or earlier.
ngo-batch-error-latitude = a number of degrees from -90 to 90.
ngo-batch-error-longitude = a number of degrees from -180 to 180.
ngo-batch-error-polygon = not a closed GeoJSON Polygon with [longitude, latitude] positions in range.
ngo-batch-error-note = at most 1,000 characters.
ngo-batch-error-photo-type = not a JPEG, PNG or WebP image (the file's bytes are checked, not its name).
ngo-batch-error-photo-size = the file is larger than allowed.
