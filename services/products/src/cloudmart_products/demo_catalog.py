"""`python -m cloudmart_products.demo_catalog`: a fixed demo catalog, loaded into an empty table.

Run by `make up` when the table is empty (a fresh data directory). The same seed gives the same
240 products every time: 8 categories, prices from 4.99 to 1,499.99, a few nearly sold out.
"""

import asyncio
import random
from decimal import Decimal
from typing import Any

from cloudmart_common.events import utc_timestamp
from cloudmart_common.stores import create_redis
from cloudmart_products.catalog_cache import forget_catalog
from cloudmart_products.repository import COUNTER_ID, search_text, to_item
from cloudmart_products.settings import Settings
from cloudmart_products.table import dynamodb_client

CATEGORIES = {
    "electronics": ["Headphones", "Speaker", "Charger", "Monitor", "Keyboard", "Webcam"],
    "books": ["Novel", "Cookbook", "Atlas", "Poetry Collection", "Field Guide", "Biography"],
    "home": ["Lamp", "Throw Blanket", "Vase", "Cutting Board", "Kettle", "Planter"],
    "clothing": ["T-Shirt", "Hoodie", "Rain Jacket", "Wool Socks", "Cap", "Scarf"],
    "sports": ["Yoga Mat", "Water Bottle", "Jump Rope", "Dumbbell", "Tennis Balls", "Helmet"],
    "toys": ["Puzzle", "Building Blocks", "Kite", "Plush Bear", "Board Game", "Yo-Yo"],
    "garden": ["Hose", "Trowel", "Seed Kit", "Watering Can", "Gloves", "Bird Feeder"],
    "beauty": ["Face Cream", "Shampoo", "Lip Balm", "Soap Bar", "Hand Lotion", "Brush"],
}
ADJECTIVES = [
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Nordic",
    "Pro",
    "Travel",
    "Urban",
    "Vintage",
    "Everyday",
]
PER_CATEGORY = 30


def demo_products(seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    products, product_id, now = [], 0, utc_timestamp()
    for category, nouns in CATEGORIES.items():
        for n in range(PER_CATEGORY):
            product_id += 1
            name = f"{rng.choice(ADJECTIVES)} {nouns[n % len(nouns)]}"
            description = f"{name} from the CloudMart demo catalog ({category})."
            sku = f"{category[:3].upper()}-{product_id:05d}"
            price = Decimal(
                rng.choice([4, 9, 14, 19, 29, 49, 79, 99, 149, 299, 599, 1499])
            ) + Decimal("0.99")
            products.append(
                {
                    "id": product_id,
                    "name": name,
                    "description": description,
                    "price": price,
                    "category": category,
                    "stock_quantity": rng.choice([0, 3, 8, 25, 50, 120, 500]),
                    "image_url": f"https://placehold.co/400x300?text={sku}",
                    "sku": sku,
                    "created_at": now,
                    "updated_at": now,
                    "search_text": search_text(name, description),
                }
            )
    return products


async def load_if_empty(settings: Settings) -> str:
    async with dynamodb_client(settings) as client:
        probe = await client.scan(
            TableName=settings.products_table,
            FilterExpression="id > :zero",
            ExpressionAttributeValues={":zero": {"N": "0"}},
            Limit=50,
        )
        if probe.get("Items") or probe.get("LastEvaluatedKey"):
            return "present"
        products = demo_products()
        for start in range(0, len(products), 25):
            requests = [{"PutRequest": {"Item": to_item(p)}} for p in products[start : start + 25]]
            pending: dict[str, Any] = {settings.products_table: requests}
            while pending:
                answer = await client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
        await client.put_item(
            TableName=settings.products_table,
            Item={"id": {"N": str(COUNTER_ID)}, "next_id": {"N": str(len(products))}},
        )
    # An empty table under a Redis that outlived it (a deleted data directory of the emulator)
    # means ids start again: cached products and pages of the old table would answer for the new.
    redis = create_redis(settings)
    try:
        await forget_catalog(redis)
    finally:
        await redis.aclose()
    return f"loaded {len(products)} products"


if __name__ == "__main__":
    print(asyncio.run(load_if_empty(Settings())))
